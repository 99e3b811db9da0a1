// @vitest-environment jsdom
import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { ClassPicker } from "./class-picker";

describe("ClassPicker", () => {
  const classes = [
    { id: 7, name: "cat", color: "#ff0000", hotkey: "1" },
    { id: 8, name: "<b>dog</b>", color: "#00ff00", hotkey: "2" },
  ];

  it("shows hotkeys, the model's probabilities and the choice", () => {
    const onPick = vi.fn();
    render(<ClassPicker classes={classes} selected={7} onPick={onPick} probs={{ "7": 0.25, "8": 0.75 }} />);
    expect(screen.getByRole("radio", { name: /cat/ })).toHaveAttribute("aria-checked", "true");
    expect(screen.getByText("75%")).toBeInTheDocument();
    fireEvent.click(screen.getByRole("radio", { name: /dog/ }));
    expect(onPick).toHaveBeenCalledWith(8);
  });

  it("renders user-provided names as text", () => {
    const { container } = render(<ClassPicker classes={classes} selected={null} onPick={() => {}} />);
    expect(screen.getByText("<b>dog</b>")).toBeInTheDocument();
    expect(container.querySelector("b")).toBeNull();
  });
});
