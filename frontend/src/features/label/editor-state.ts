/**
 * The labeling editor's state as a pure reducer with an undo stack. Knows
 * nothing about React or the DOM; the page dispatches committed gestures here
 * (a whole drag is one action, so Z undoes a whole drag).
 */
import type { Rect } from "../../components/image-stage/geometry";

export interface EditorBox extends Rect {
  id: string;
  labelClass: number;
  /** The model's confidence for a pre-annotation, null for a box drawn by hand. */
  score: number | null;
  /** A model pre-annotation the annotator has not accepted or edited yet. */
  pending: boolean;
}

interface Snapshot {
  boxes: EditorBox[];
  classChoice: number | null;
}

export interface EditorState extends Snapshot {
  selectedId: string | null;
  /** The class new boxes get; keys 1–9 also relabel the selected box. */
  activeClass: number | null;
  past: Snapshot[];
  nextId: number;
}

export type EditorAction =
  | { type: "load"; boxes: Omit<EditorBox, "id">[]; classChoice: number | null; activeClass: number | null }
  | { type: "add"; rect: Rect }
  | { type: "update"; id: string; rect: Rect }
  | { type: "delete"; id?: string }
  | { type: "select"; id: string | null }
  | { type: "setClass"; labelClass: number }
  | { type: "chooseClass"; labelClass: number }
  | { type: "acceptAbove"; threshold: number }
  | { type: "undo" };

export const MAX_UNDO = 100;

export const initialEditorState: EditorState = {
  boxes: [],
  classChoice: null,
  selectedId: null,
  activeClass: null,
  past: [],
  nextId: 1,
};

function withHistory(state: EditorState, next: Partial<EditorState>): EditorState {
  const snapshot: Snapshot = { boxes: state.boxes, classChoice: state.classChoice };
  return { ...state, ...next, past: [...state.past, snapshot].slice(-MAX_UNDO) };
}

export function isVisible(box: EditorBox, threshold: number): boolean {
  return !box.pending || (box.score ?? 0) >= threshold;
}

export function editorReducer(state: EditorState, action: EditorAction): EditorState {
  switch (action.type) {
    case "load": {
      let nextId = state.nextId;
      const boxes = action.boxes.map((b) => ({ ...b, id: `b${nextId++}` }));
      return {
        boxes,
        classChoice: action.classChoice,
        activeClass: action.activeClass,
        selectedId: null,
        past: [],
        nextId,
      };
    }
    case "add": {
      if (state.activeClass === null) return state;
      const id = `b${state.nextId}`;
      const box: EditorBox = { ...action.rect, id, labelClass: state.activeClass, score: null, pending: false };
      return withHistory(state, { boxes: [...state.boxes, box], selectedId: id, nextId: state.nextId + 1 });
    }
    case "update": {
      const current = state.boxes.find((b) => b.id === action.id);
      if (!current) return state;
      const { x, y, w, h } = action.rect;
      if (current.x === x && current.y === y && current.w === w && current.h === h && !current.pending) {
        return state;
      }
      return withHistory(state, {
        boxes: state.boxes.map((b) => (b.id === action.id ? { ...b, x, y, w, h, pending: false } : b)),
      });
    }
    case "delete": {
      const id = action.id ?? state.selectedId;
      if (id === null || !state.boxes.some((b) => b.id === id)) return state;
      return withHistory(state, {
        boxes: state.boxes.filter((b) => b.id !== id),
        selectedId: state.selectedId === id ? null : state.selectedId,
      });
    }
    case "select":
      return state.selectedId === action.id ? state : { ...state, selectedId: action.id };
    case "setClass": {
      const selected = state.boxes.find((b) => b.id === state.selectedId);
      if (!selected) return { ...state, activeClass: action.labelClass };
      return withHistory(state, {
        activeClass: action.labelClass,
        boxes: state.boxes.map((b) =>
          b.id === selected.id ? { ...b, labelClass: action.labelClass, pending: false } : b,
        ),
      });
    }
    case "chooseClass":
      if (state.classChoice === action.labelClass) return state;
      return withHistory(state, { classChoice: action.labelClass, activeClass: action.labelClass });
    case "acceptAbove": {
      const accepted = state.boxes.map((b) =>
        b.pending && (b.score ?? 0) >= action.threshold ? { ...b, pending: false } : b,
      );
      if (accepted.every((b, i) => b === state.boxes[i])) return state;
      return withHistory(state, { boxes: accepted });
    }
    case "undo": {
      const previous = state.past[state.past.length - 1];
      if (!previous) return state;
      const selectedId = previous.boxes.some((b) => b.id === state.selectedId) ? state.selectedId : null;
      return { ...state, ...previous, selectedId, past: state.past.slice(0, -1) };
    }
  }
}

/** The boxes a submit sends: drawn or accepted ones, never unreviewed pre-annotations. */
export function boxesToSubmit(state: EditorState): EditorBox[] {
  return state.boxes.filter((b) => !b.pending);
}

export function countAbove(boxes: readonly EditorBox[], threshold: number): number {
  return boxes.filter((b) => b.pending && (b.score ?? 0) >= threshold).length;
}
