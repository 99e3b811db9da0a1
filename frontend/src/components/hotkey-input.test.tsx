// @vitest-environment jsdom
import { fireEvent, render, screen } from "@testing-library/react";
import { useState } from "react";
import { describe, expect, it } from "vitest";
import { HotkeyInput, hotkeyFromText } from "./hotkey-input";

describe("hotkeyFromText", () => {
  it("keeps the last digit 1–9 and nothing else", () => {
    expect(hotkeyFromText("")).toBe("");
    expect(hotkeyFromText("s")).toBe("");
    expect(hotkeyFromText("0")).toBe("");
    expect(hotkeyFromText("3")).toBe("3");
    expect(hotkeyFromText("35")).toBe("5");
    expect(hotkeyFromText("3s")).toBe("3");
    expect(hotkeyFromText("٣")).toBe("");
  });
});

describe("HotkeyInput", () => {
  function Field() {
    const [key, setKey] = useState("");
    return <HotkeyInput name="hotkey" value={key} onChange={setKey} />;
  }

  it("refuses letters such as S (skip)", () => {
    render(<Field />);
    const input = screen.getByRole("textbox");
    fireEvent.change(input, { target: { value: "s" } });
    expect(input).toHaveValue("");
    fireEvent.change(input, { target: { value: "4" } });
    expect(input).toHaveValue("4");
    fireEvent.change(input, { target: { value: "4z" } });
    expect(input).toHaveValue("4");
  });
});
