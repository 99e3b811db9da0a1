// @vitest-environment jsdom
import { beforeEach, describe, expect, it } from "vitest";
import { clearDraft, draftKey, dropOtherDrafts, loadDraft, saveDraft } from "./drafts";

const draft = {
  boxes: [{ id: "b3", x: 1, y: 2, w: 3, h: 4, labelClass: 7, score: null, pending: false }],
  classChoice: null,
  activeClass: 7,
};

beforeEach(() => localStorage.clear());

describe("drafts", () => {
  it("round-trips per project and image, and clears", () => {
    saveDraft(1, 10, draft);
    expect(loadDraft(1, 10)).toEqual(draft);
    expect(loadDraft(1, 11)).toBeNull();
    expect(loadDraft(2, 10)).toBeNull();
    clearDraft(1, 10);
    expect(loadDraft(1, 10)).toBeNull();
  });

  it("drops a stored value it did not write instead of restoring it", () => {
    localStorage.setItem(draftKey(1, 10), "{not json");
    expect(loadDraft(1, 10)).toBeNull();
    expect(localStorage.getItem(draftKey(1, 10))).toBeNull();
    localStorage.setItem(draftKey(1, 10), JSON.stringify({ ...draft, boxes: [{ id: "b1", x: "1" }] }));
    expect(loadDraft(1, 10)).toBeNull();
  });

  it("keeps only the current image's draft of a project", () => {
    saveDraft(1, 10, draft);
    saveDraft(1, 11, draft);
    saveDraft(2, 10, draft);
    dropOtherDrafts(1, 11);
    expect(loadDraft(1, 10)).toBeNull();
    expect(loadDraft(1, 11)).toEqual(draft);
    expect(loadDraft(2, 10)).toEqual(draft);
  });
});
