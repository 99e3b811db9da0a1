/**
 * The labeling editor's state as a pure reducer with an undo stack. Knows
 * nothing about React or the DOM; the page dispatches committed gestures here
 * (a whole drag is one action, so Z undoes a whole drag).
 *
 * The class-key rule: keys 1–9 set the class for new boxes. They relabel an
 * existing box only when the user picked that box by clicking it (on the image
 * or in the box list). A box just drawn, moved or resized is selected for its
 * handles but not picked, so a key meant for the next box never silently
 * relabels it. Every class change, the one for new boxes included, is undoable.
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
  /** The class new boxes get. */
  activeClass: number | null;
}

export interface EditorState extends Snapshot {
  selectedId: string | null;
  /** True when the selected box was picked by a click: only then do class keys relabel it. */
  picked: boolean;
  /** Boxes hidden from the display (still submitted): a view setting, not part of the undo history. */
  hiddenIds: string[];
  past: Snapshot[];
  nextId: number;
}

/** What the page restores after a reload: the editable part of the state. */
export type EditorDraft = Snapshot;

export type EditorAction =
  | { type: "load"; boxes: Omit<EditorBox, "id">[]; classChoice: number | null; activeClass: number | null }
  | { type: "add"; rect: Rect }
  | { type: "update"; id: string; rect: Rect }
  | { type: "delete"; id?: string }
  | { type: "restore"; draft: EditorDraft }
  /** `byClick`: the user clicked the box (image or box list), which arms class keys for it. */
  | { type: "select"; id: string | null; byClick?: boolean }
  /** A class key or a click in the class picker. */
  | { type: "setClass"; labelClass: number }
  | { type: "accept"; id: string }
  | { type: "toggleHidden"; id: string }
  | { type: "chooseClass"; labelClass: number }
  | { type: "acceptAbove"; threshold: number }
  | { type: "undo" };

export const MAX_UNDO = 100;

export const initialEditorState: EditorState = {
  boxes: [],
  classChoice: null,
  selectedId: null,
  picked: false,
  hiddenIds: [],
  activeClass: null,
  past: [],
  nextId: 1,
};

function withHistory(state: EditorState, next: Partial<EditorState>): EditorState {
  const snapshot: Snapshot = { boxes: state.boxes, classChoice: state.classChoice, activeClass: state.activeClass };
  return { ...state, ...next, past: [...state.past, snapshot].slice(-MAX_UNDO) };
}

/** The box class keys would relabel right now, if any. */
export function pickedBox(state: EditorState): EditorBox | undefined {
  return state.picked ? state.boxes.find((b) => b.id === state.selectedId) : undefined;
}

export function draftOf(state: EditorState): EditorDraft {
  return { boxes: state.boxes, classChoice: state.classChoice, activeClass: state.activeClass };
}

function idNumber(id: string): number {
  const n = Number(id.replace(/^b/, ""));
  return Number.isFinite(n) ? n : 0;
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
        picked: false,
        hiddenIds: [],
        past: [],
        nextId,
      };
    }
    case "restore": {
      // Box ids come back as saved; new ones continue after the highest.
      const highest = Math.max(0, ...action.draft.boxes.map((b) => idNumber(b.id)));
      return {
        ...action.draft,
        selectedId: null,
        picked: false,
        hiddenIds: [],
        past: [],
        nextId: Math.max(state.nextId, highest + 1),
      };
    }
    case "add": {
      if (state.activeClass === null) return state;
      const id = `b${state.nextId}`;
      const box: EditorBox = { ...action.rect, id, labelClass: state.activeClass, score: null, pending: false };
      // Selected for its handles, not picked: the next class key is for the next box.
      return withHistory(state, {
        boxes: [...state.boxes, box],
        selectedId: id,
        picked: false,
        nextId: state.nextId + 1,
      });
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
      const deselect = state.selectedId === id;
      return withHistory(state, {
        boxes: state.boxes.filter((b) => b.id !== id),
        selectedId: deselect ? null : state.selectedId,
        picked: deselect ? false : state.picked,
        hiddenIds: state.hiddenIds.filter((h) => h !== id),
      });
    }
    case "select": {
      if (action.id === null) return state.selectedId === null ? state : { ...state, selectedId: null, picked: false };
      if (!state.boxes.some((b) => b.id === action.id)) return state;
      // Grabbing the box that is already picked (to move it) keeps it picked.
      const picked = Boolean(action.byClick) || (state.picked && state.selectedId === action.id);
      if (state.selectedId === action.id && state.picked === picked) return state;
      return { ...state, selectedId: action.id, picked };
    }
    case "setClass": {
      const target = pickedBox(state);
      if (!target) {
        if (state.activeClass === action.labelClass) return state;
        return withHistory(state, { activeClass: action.labelClass });
      }
      if (target.labelClass === action.labelClass && !target.pending) return state;
      return withHistory(state, {
        boxes: state.boxes.map((b) => (b.id === target.id ? { ...b, labelClass: action.labelClass, pending: false } : b)),
      });
    }
    case "accept": {
      const target = state.boxes.find((b) => b.id === action.id);
      if (!target?.pending) return state;
      return withHistory(state, { boxes: state.boxes.map((b) => (b.id === target.id ? { ...b, pending: false } : b)) });
    }
    case "toggleHidden": {
      if (!state.boxes.some((b) => b.id === action.id)) return state;
      const hidden = state.hiddenIds.includes(action.id);
      const deselect = !hidden && state.selectedId === action.id;
      return {
        ...state,
        hiddenIds: hidden ? state.hiddenIds.filter((h) => h !== action.id) : [...state.hiddenIds, action.id],
        selectedId: deselect ? null : state.selectedId,
        picked: deselect ? false : state.picked,
      };
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
      const keep = previous.boxes.some((b) => b.id === state.selectedId);
      return {
        ...state,
        ...previous,
        selectedId: keep ? state.selectedId : null,
        picked: keep ? state.picked : false,
        past: state.past.slice(0, -1),
      };
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
