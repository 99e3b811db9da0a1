import { describe, expect, it } from "vitest";
import {
  boxesToSubmit,
  countAbove,
  draftOf,
  editorReducer,
  initialEditorState,
  isVisible,
  type EditorState,
} from "./editor-state";

function loaded(): EditorState {
  return editorReducer(initialEditorState, {
    type: "load",
    classChoice: null,
    activeClass: 1,
    boxes: [
      { x: 0, y: 0, w: 10, h: 10, labelClass: 1, score: 0.9, pending: true },
      { x: 20, y: 20, w: 10, h: 10, labelClass: 2, score: 0.4, pending: true },
    ],
  });
}

describe("editorReducer", () => {
  it("loads pre-annotations as pending with a clean history", () => {
    const s = loaded();
    expect(s.boxes).toHaveLength(2);
    expect(s.boxes.every((b) => b.pending)).toBe(true);
    expect(s.past).toEqual([]);
    expect(boxesToSubmit(s)).toEqual([]);
  });

  it("adds a drawn box with the active class and selects it", () => {
    const s = editorReducer(loaded(), { type: "add", rect: { x: 1, y: 2, w: 30, h: 40 } });
    const added = s.boxes[2]!;
    expect(added).toMatchObject({ x: 1, y: 2, w: 30, h: 40, labelClass: 1, score: null, pending: false });
    expect(s.selectedId).toBe(added.id);
    expect(boxesToSubmit(s)).toHaveLength(1);
  });

  it("accepts every pending box at or above the threshold, once", () => {
    const s = loaded();
    expect(countAbove(s.boxes, 0.5)).toBe(1);
    const accepted = editorReducer(s, { type: "acceptAbove", threshold: 0.5 });
    expect(boxesToSubmit(accepted).map((b) => b.score)).toEqual([0.9]);
    expect(accepted.past).toHaveLength(1);
    expect(editorReducer(accepted, { type: "acceptAbove", threshold: 0.5 })).toBe(accepted);
    expect(boxesToSubmit(editorReducer(s, { type: "acceptAbove", threshold: 0.4 }))).toHaveLength(2);
  });

  it("hides pending boxes under the threshold but never reviewed ones", () => {
    const s = loaded();
    expect(s.boxes.filter((b) => isVisible(b, 0.5))).toHaveLength(1);
    const edited = editorReducer(s, { type: "update", id: s.boxes[1]!.id, rect: { x: 21, y: 20, w: 10, h: 10 } });
    expect(edited.boxes.filter((b) => isVisible(b, 0.5))).toHaveLength(2);
  });

  it("editing a pre-annotation accepts it", () => {
    const s = loaded();
    const id = s.boxes[1]!.id;
    const moved = editorReducer(s, { type: "update", id, rect: { x: 25, y: 25, w: 10, h: 10 } });
    expect(moved.boxes[1]).toMatchObject({ x: 25, y: 25, pending: false });
  });

  it("a class key sets the class for new boxes, undoably, and leaves existing boxes alone", () => {
    let s = loaded();
    s = editorReducer(s, { type: "setClass", labelClass: 3 });
    expect(s.activeClass).toBe(3);
    expect(s.boxes.map((b) => b.labelClass)).toEqual([1, 2]);
    s = editorReducer(s, { type: "undo" });
    expect(s.activeClass).toBe(1);
    expect(s.past).toHaveLength(0);
  });

  it("a key after drawing is for the next box: the box just drawn keeps its class", () => {
    let s = editorReducer(loaded(), { type: "add", rect: { x: 1, y: 2, w: 30, h: 40 } });
    const drawn = s.selectedId!;
    expect(s.picked).toBe(false);
    s = editorReducer(s, { type: "setClass", labelClass: 2 });
    expect(s.boxes.find((b) => b.id === drawn)!.labelClass).toBe(1);
    expect(s.activeClass).toBe(2);
    s = editorReducer(s, { type: "add", rect: { x: 50, y: 50, w: 20, h: 20 } });
    expect(s.boxes.map((b) => b.labelClass)).toEqual([1, 2, 1, 2]);
  });

  it("grabbing a box to move or resize it selects it without arming class keys", () => {
    let s = loaded();
    const id = s.boxes[0]!.id;
    s = editorReducer(s, { type: "select", id });
    expect(s.selectedId).toBe(id);
    expect(s.picked).toBe(false);
    s = editorReducer(s, { type: "setClass", labelClass: 5 });
    expect(s.boxes[0]!.labelClass).toBe(1);
  });

  it("a box picked by a click is relabelled by a class key, undoably, and stays picked while dragged", () => {
    let s = loaded();
    const id = s.boxes[0]!.id;
    s = editorReducer(s, { type: "select", id, byClick: true });
    s = editorReducer(s, { type: "select", id });
    expect(s.picked).toBe(true);
    s = editorReducer(s, { type: "setClass", labelClass: 2 });
    expect(s.boxes[0]).toMatchObject({ labelClass: 2, pending: false });
    expect(s.activeClass).toBe(1);
    s = editorReducer(s, { type: "undo" });
    expect(s.boxes[0]).toMatchObject({ labelClass: 1, pending: true });
    expect(s.picked).toBe(true);
    s = editorReducer(s, { type: "select", id: null });
    s = editorReducer(s, { type: "setClass", labelClass: 2 });
    expect(s.boxes[0]!.labelClass).toBe(1);
  });

  it("accepts and hides single boxes from the box list", () => {
    let s = loaded();
    const [a, b] = s.boxes.map((x) => x.id) as [string, string];
    s = editorReducer(s, { type: "accept", id: b });
    expect(s.boxes[1]).toMatchObject({ labelClass: 2, pending: false });
    s = editorReducer(s, { type: "accept", id: a });
    expect(boxesToSubmit(s)).toHaveLength(2);
    expect(editorReducer(s, { type: "accept", id: a })).toBe(s);
    s = editorReducer(s, { type: "select", id: a, byClick: true });
    s = editorReducer(s, { type: "toggleHidden", id: a });
    expect(s.hiddenIds).toEqual([a]);
    expect(s.selectedId).toBeNull();
    expect(boxesToSubmit(s)).toHaveLength(2); // hidden from view, still submitted
    const pastLength = s.past.length;
    s = editorReducer(s, { type: "toggleHidden", id: a });
    expect(s.hiddenIds).toEqual([]);
    expect(s.past).toHaveLength(pastLength);
    s = editorReducer(s, { type: "undo" });
    s = editorReducer(s, { type: "undo" });
    expect(s.boxes[1]).toMatchObject({ labelClass: 2, pending: true });
  });

  it("restores a saved draft and keeps box ids unique after it", () => {
    let s = editorReducer(loaded(), { type: "add", rect: { x: 1, y: 2, w: 30, h: 40 } });
    s = editorReducer(s, { type: "setClass", labelClass: 4 });
    const draft = draftOf(s);
    let r = editorReducer(initialEditorState, { type: "restore", draft: JSON.parse(JSON.stringify(draft)) });
    expect(r.boxes).toEqual(s.boxes);
    expect(r.activeClass).toBe(4);
    expect(r.past).toEqual([]);
    r = editorReducer(r, { type: "add", rect: { x: 5, y: 5, w: 10, h: 10 } });
    expect(new Set(r.boxes.map((b) => b.id)).size).toBe(4);
    expect(r.boxes[3]!.labelClass).toBe(4);
  });

  it("deletes the selected box", () => {
    let s = editorReducer(loaded(), { type: "add", rect: { x: 1, y: 2, w: 30, h: 40 } });
    s = editorReducer(s, { type: "delete" });
    expect(s.boxes).toHaveLength(2);
    expect(s.selectedId).toBeNull();
    expect(editorReducer(s, { type: "delete" })).toBe(s);
  });

  it("undoes one committed action at a time", () => {
    const start = loaded();
    let s = editorReducer(start, { type: "add", rect: { x: 1, y: 2, w: 30, h: 40 } });
    s = editorReducer(s, { type: "acceptAbove", threshold: 0.5 });
    s = editorReducer(s, { type: "delete", id: s.boxes[0]!.id });
    expect(s.boxes).toHaveLength(2);
    s = editorReducer(s, { type: "undo" });
    expect(s.boxes).toHaveLength(3);
    expect(s.boxes[0]!.pending).toBe(false);
    s = editorReducer(s, { type: "undo" });
    expect(s.boxes[0]!.pending).toBe(true);
    s = editorReducer(s, { type: "undo" });
    expect(s.boxes).toEqual(start.boxes);
    expect(s.selectedId).toBeNull();
    expect(editorReducer(s, { type: "undo" })).toBe(s);
  });

  it("undoes a classification choice", () => {
    let s = editorReducer(initialEditorState, { type: "load", boxes: [], classChoice: 4, activeClass: 4 });
    s = editorReducer(s, { type: "chooseClass", labelClass: 7 });
    expect(s.classChoice).toBe(7);
    s = editorReducer(s, { type: "undo" });
    expect(s.classChoice).toBe(4);
  });

  it("ignores a drag that ended where it started", () => {
    let s = editorReducer(loaded(), { type: "add", rect: { x: 1, y: 2, w: 30, h: 40 } });
    const id = s.selectedId!;
    const again = editorReducer(s, { type: "update", id, rect: { x: 1, y: 2, w: 30, h: 40 } });
    expect(again).toBe(s);
    s = editorReducer(s, { type: "add", rect: { x: 1, y: 2, w: 30, h: 40 } });
    expect(new Set(s.boxes.map((b) => b.id)).size).toBe(4);
  });
});
