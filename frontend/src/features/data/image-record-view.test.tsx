// @vitest-environment jsdom
import { fireEvent, render, screen } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ImageRecord, LabelClass } from "../../api/types";
import { ImageRecordView } from "./image-record-view";

beforeEach(() => vi.stubGlobal("ResizeObserver", class { observe() {} disconnect() {} }));
afterEach(() => vi.unstubAllGlobals());

const classes: LabelClass[] = [
  { id: 1, name: "brown_box", color: "#9a6324", hotkey: "1" },
  { id: 2, name: "yellow_box", color: "#ffe119", hotkey: "2" },
] as LabelClass[];

const record = (consensus: Partial<NonNullable<ImageRecord["consensus"]>> | null, firstBoxes = [{ x: 40, y: 30, w: 80, h: 60, label_class: 1 }]): ImageRecord => ({
  image: {
    id: 7, project: 1, original_name: "porch.png", width: 320, height: 240, sha256: "", file_url: "/f/7", thumbnail_url: "/t/7",
    status: "labeled", split: "train", created_at: "2026-11-28T11:00:00Z",
  },
  gold: false,
  label: { label_class: firstBoxes.length ? null : 1, boxes: firstBoxes, annotator: "anna", created_at: "2026-11-28T12:00:00Z", updated_at: "2026-11-28T12:00:00Z" },
  prediction: null,
  quality: null,
  history: [],
  consensus:
    consensus === null
      ? null
      : {
          first_annotator: "anna", annotator: "bob", label_class: null, boxes: [], agreed: false, reason: "", answered_at: "2026-11-28T12:05:00Z",
          ...consensus,
        },
});

// Each dotted box by its outline colour (its class) and its label, shortened on jsdom's zero-size stage.
const dottedLabels = (container: HTMLElement) =>
  [...container.querySelectorAll("g.box-dotted")].map(
    (g) => `${g.querySelector("rect:not(.box-halo)")?.getAttribute("stroke")} ${g.querySelector("text")?.textContent}`,
  );

describe("the second, blind label of a consensus pair on the image", () => {
  it("draws the second annotator's boxes dotted beside the first label's solid ones, with a legend, and hides them on request", () => {
    const second = [
      { x: 44, y: 30, w: 80, h: 60, label_class: 2 },
      { x: 200, y: 100, w: 60, h: 60, label_class: 1 },
    ];
    const { container } = render(<ImageRecordView record={record({ boxes: second })} classes={classes} />);
    expect(dottedLabels(container)).toEqual(["#ffe119 2nd", "#9a6324 2nd"]);
    // The first label's box stays solid.
    const solid = [...container.querySelectorAll("g.box:not(.box-dotted)")];
    expect(solid).toHaveLength(1);
    expect(solid[0]!.querySelector("rect")!.getAttribute("stroke-dasharray")).toBeNull();
    expect(container.querySelector("g.box-dotted rect")!.getAttribute("stroke-dasharray")).toBe("2 4");
    const legend = screen.getByTestId("stage-legend");
    expect(legend).toHaveTextContent("first label (anna)");
    expect(legend).toHaveTextContent("second label (bob)");
    // The text line in the sidebar stays.
    expect(screen.getByTestId("record-consensus")).toHaveTextContent("Second, blind label by bob: yellow_box, brown_box (disagrees)");

    const toggle = screen.getByRole("checkbox", { name: /second label/ });
    expect(toggle).toBeChecked();
    fireEvent.click(toggle);
    expect(dottedLabels(container)).toEqual([]);
    expect(container.querySelectorAll("g.box")).toHaveLength(1);
    fireEvent.click(toggle);
    expect(dottedLabels(container)).toHaveLength(2);
  });

  it("says when the second annotator gave no boxes", () => {
    const { container } = render(<ImageRecordView record={record({ boxes: [] })} classes={classes} />);
    expect(screen.getByTestId("stage-legend")).toHaveTextContent("second label (bob): no boxes");
    expect(dottedLabels(container)).toEqual([]);
    expect(screen.queryByRole("checkbox")).toBeNull(); // nothing to hide
  });

  it("keeps classification to the text line: no legend, nothing drawn", () => {
    const { container } = render(<ImageRecordView record={record({ label_class: 2 }, [])} classes={classes} />);
    expect(screen.queryByTestId("stage-legend")).toBeNull();
    expect(container.querySelectorAll("g.box")).toHaveLength(0);
    expect(screen.getByTestId("record-consensus")).toHaveTextContent("Second, blind label by bob: yellow_box (disagrees)");
  });

  it("shows no legend without a consensus pair", () => {
    render(<ImageRecordView record={record(null)} classes={classes} />);
    expect(screen.queryByTestId("stage-legend")).toBeNull();
  });
});
