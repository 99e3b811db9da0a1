// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import { classForKey, enterKeepsNativeAction, isTypingTarget, keyToCommand } from "./shortcuts";

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

describe("enterKeepsNativeAction", () => {
  it("lets Enter submit from buttons in the page, except the marked ones, links and the header", () => {
    document.body.innerHTML = `
      <header><button id="logout">Log out</button><a id="nav" href="/upload">Upload</a></header>
      <main id="page">
        <button id="hide">Hide box 2</button>
        <div role="radiogroup"><button id="cls" role="radio"><span id="inner">tube</span></button></div>
        <button id="submit" data-enter-activates>Submit <kbd id="kbd">Enter</kbd></button>
        <input id="range" type="range" />
      </main>`;
    const page = document.getElementById("page");
    const keeps = (id: string) => enterKeepsNativeAction(document.getElementById(id), page);
    expect(keeps("hide")).toBe(false);
    expect(keeps("cls")).toBe(false);
    expect(keeps("inner")).toBe(false);
    expect(keeps("range")).toBe(false);
    expect(enterKeepsNativeAction(document.body, page)).toBe(false);
    expect(enterKeepsNativeAction(window, page)).toBe(false);
    expect(keeps("submit")).toBe(true);
    expect(keeps("kbd")).toBe(true);
    expect(keeps("logout")).toBe(true);
    expect(keeps("nav")).toBe(true);
  });
});
