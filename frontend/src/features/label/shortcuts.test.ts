// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import { classForKey, isTypingTarget, keyToCommand } from "./shortcuts";

describe("keyToCommand", () => {
  it("maps the labeling keys", () => {
    expect(keyToCommand({ key: "3" }, "detection")).toEqual({ type: "class", key: "3" });
    expect(keyToCommand({ key: "Enter" }, "detection")).toEqual({ type: "submit" });
    expect(keyToCommand({ key: "s" }, "classification")).toEqual({ type: "skip" });
    expect(keyToCommand({ key: "Z" }, "detection")).toEqual({ type: "undo" });
    expect(keyToCommand({ key: "z", ctrlKey: true }, "detection")).toEqual({ type: "undo" });
    expect(keyToCommand({ key: "a" }, "detection")).toEqual({ type: "acceptAll" });
    expect(keyToCommand({ key: "Delete" }, "detection")).toEqual({ type: "delete" });
    expect(keyToCommand({ key: "0" }, "detection")).toEqual({ type: "fit" });
  });

  it("ignores box keys for classification and modified keys", () => {
    expect(keyToCommand({ key: "a" }, "classification")).toBeNull();
    expect(keyToCommand({ key: "Backspace" }, "classification")).toBeNull();
    expect(keyToCommand({ key: "s", ctrlKey: true }, "detection")).toBeNull();
    expect(keyToCommand({ key: "1", altKey: true }, "detection")).toBeNull();
    expect(keyToCommand({ key: "q" }, "detection")).toBeNull();
  });

  it("resolves class keys by hotkey, else by position", () => {
    const withHotkeys = [
      { id: 10, hotkey: "2" },
      { id: 11, hotkey: "1" },
    ];
    expect(classForKey("1", withHotkeys)?.id).toBe(11);
    expect(classForKey("3", withHotkeys)).toBeUndefined();
    const plain = [
      { id: 5, hotkey: "" },
      { id: 6, hotkey: "" },
    ];
    expect(classForKey("2", plain)?.id).toBe(6);
  });

  it("does not steal keys from text inputs", () => {
    const text = document.createElement("input");
    const range = document.createElement("input");
    range.type = "range";
    expect(isTypingTarget(text)).toBe(true);
    expect(isTypingTarget(range)).toBe(false);
    expect(isTypingTarget(document.createElement("textarea"))).toBe(true);
    expect(isTypingTarget(document.body)).toBe(false);
  });
});
