// @vitest-environment jsdom
import { render } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ImageStage } from "./image-stage";

beforeEach(() => vi.stubGlobal("ResizeObserver", class { observe() {} disconnect() {} }));
afterEach(() => vi.unstubAllGlobals());

const box = (id: string, color: string, label: string) => ({ id, x: 10, y: 40, w: 120, h: 80, color, label });

describe("ImageStage box labels", () => {
  it("writes dark text on a light class colour and white on a dark one, and edges a light box", () => {
    const { container } = render(
      <ImageStage
        image={{ id: 1, file_url: "/f/1", width: 400, height: 300 }}
        mode="view"
        boxes={[box("a", "#f8fafc", "white_envelope"), box("b", "#ffe119", "yellow_box"), box("c", "#9a6324", "brown_box")]}
      />,
    );
    const fills = [...container.querySelectorAll("text.box-label")].map((t) => [t.textContent, t.getAttribute("fill")]);
    expect(fills).toEqual([
      ["white_envelope", "#111827"],
      ["yellow_box", "#111827"],
      ["brown_box", "#ffffff"],
    ]);
    // Light boxes get a darker halo under their edge; the brown one does not need it.
    const halos = [...container.querySelectorAll("g.box")].map((g) => g.querySelector(".box-halo")?.getAttribute("stroke") ?? null);
    expect(halos).toEqual(["#888a8b", "#8c7c0e", null]);
  });
});
