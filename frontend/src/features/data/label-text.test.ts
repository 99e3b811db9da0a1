import { describe, expect, it } from "vitest";
import type { HistoryEntry, ImageRecord, LabelClass } from "../../api/types";
import { consensusLine, historyLine, labelSummary, topClass } from "./label-text";

const classes = new Map<number, LabelClass>([
  [1, { id: 1, name: "cat" } as LabelClass],
  [2, { id: 2, name: "dog" } as LabelClass],
]);
const box = (label_class: number) => ({ x: 0, y: 0, w: 1, h: 1, label_class });

describe("labelSummary", () => {
  it("names the class of a classification label", () => {
    expect(labelSummary(2, [], classes)).toBe("dog");
  });
  it("counts boxes per class", () => {
    expect(labelSummary(null, [box(1), box(1), box(2)], classes)).toBe("cat ×2, dog");
    expect(labelSummary(null, [], classes)).toBe("no boxes");
  });
});

describe("historyLine", () => {
  const at = "2026-11-28T10:00:00Z";
  it("says who did what to the label", () => {
    const entry = { kind: "revision", action: "edited", who: "rita", at, label_class: 1, boxes: [], reason: "" } as HistoryEntry;
    expect(historyLine(entry, classes)).toBe("rita edited: cat");
  });
  it("gives a rejection's reason", () => {
    const entry = { kind: "review", action: "reject", who: "rita", at, label_class: null, boxes: [], reason: "it is a dog" } as HistoryEntry;
    expect(historyLine(entry, classes)).toBe("rita rejected: it is a dog");
  });
});

describe("topClass", () => {
  it("picks the most probable class", () => {
    expect(topClass({ "1": 0.2, "2": 0.8 })).toEqual({ id: 2, p: 0.8 });
    expect(topClass(null)).toBeNull();
  });
});

describe("consensusLine", () => {
  const pair = (agreed: boolean | null, label_class: number | null, boxes = [] as ReturnType<typeof box>[]) =>
    ({ first_annotator: "anna", annotator: "bob", label_class, boxes, agreed, reason: "", answered_at: "2026-11-28T10:00:00Z" }) as
      NonNullable<ImageRecord["consensus"]>;
  it("names the second annotator, their label and the verdict", () => {
    expect(consensusLine(pair(false, 2), classes)).toBe("Second, blind label by bob: dog (disagrees)");
    expect(consensusLine(pair(true, null, [box(1)]), classes)).toBe("Second, blind label by bob: cat (agrees)");
    expect(consensusLine(pair(null, 1), classes)).toBe("Second, blind label by bob: cat (not compared)");
  });
});
