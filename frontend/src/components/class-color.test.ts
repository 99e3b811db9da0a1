import { describe, expect, it } from "vitest";
import { edgeColor, isLightColor, luminance, textColorOn } from "./class-color";

describe("class colours", () => {
  it("computes WCAG luminance", () => {
    expect(luminance("#000000")).toBe(0);
    expect(luminance("#FFFFFF")).toBe(1);
    expect(luminance("#808080")).toBeCloseTo(0.2159, 4);
    expect(luminance("red")).toBeNull();
  });

  it("writes dark text on light class colours and white text on dark ones", () => {
    expect(textColorOn("#f8fafc")).toBe("#111827"); // white_envelope
    expect(textColorOn("#ffe119")).toBe("#111827"); // yellow
    expect(textColorOn("#bfef45")).toBe("#111827"); // lime
    expect(textColorOn("#9a6324")).toBe("#ffffff"); // brown
    expect(textColorOn("#4363d8")).toBe("#ffffff"); // blue
    expect(textColorOn("#000075")).toBe("#ffffff"); // navy
    expect(textColorOn("not a colour")).toBe("#ffffff");
  });

  it("gives light colours a darker edge of the same hue and leaves the others alone", () => {
    expect(isLightColor("#f8fafc")).toBe(true);
    expect(isLightColor("#fffac8")).toBe(true);
    expect(isLightColor("#e6194b")).toBe(false);
    expect(edgeColor("#f8fafc")).toBe("#888a8b");
    expect(edgeColor("#ffe119")).toBe("#8c7c0e");
    expect(edgeColor("#e6194b")).toBe("#e6194b");
    expect(edgeColor("bad")).toBe("bad");
  });
});
