/**
 * Unsaved work on the image being labeled, kept in localStorage so a reload (or a
 * crashed tab) does not lose it. Keyed by project and image: queue/next hands the
 * same image back after a reload while the reservation lasts. Cleared on submit
 * and skip; drafts of other images of the project are dropped when a new image
 * loads (an annotator holds one image per project at a time).
 */
import type { EditorBox, EditorDraft } from "./editor-state";

const PREFIX = "labelapp:draft:";

export const draftKey = (projectId: number, imageId: number) => `${PREFIX}${projectId}:${imageId}`;

const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isNumOrNull = (v: unknown): v is number | null => v === null || isNum(v);

function isBox(v: unknown): v is EditorBox {
  if (typeof v !== "object" || v === null) return false;
  const b = v as Record<string, unknown>;
  return (
    typeof b.id === "string" &&
    isNum(b.x) && isNum(b.y) && isNum(b.w) && isNum(b.h) &&
    isNum(b.labelClass) && isNumOrNull(b.score) && typeof b.pending === "boolean"
  );
}

/** The stored draft, or null when there is none or it is not one we wrote (then it is dropped). */
export function loadDraft(projectId: number, imageId: number, storage: Storage = localStorage): EditorDraft | null {
  const key = draftKey(projectId, imageId);
  let raw: string | null;
  try {
    raw = storage.getItem(key);
  } catch {
    return null;
  }
  if (raw === null) return null;
  try {
    const v = JSON.parse(raw) as Record<string, unknown>;
    if (Array.isArray(v.boxes) && v.boxes.every(isBox) && isNumOrNull(v.classChoice) && isNumOrNull(v.activeClass)) {
      return { boxes: v.boxes, classChoice: v.classChoice, activeClass: v.activeClass };
    }
  } catch {
    // fall through: unreadable
  }
  storage.removeItem(key);
  return null;
}

export function saveDraft(projectId: number, imageId: number, draft: EditorDraft, storage: Storage = localStorage): void {
  try {
    storage.setItem(draftKey(projectId, imageId), JSON.stringify(draft));
  } catch {
    // Storage full or disabled: the draft is a convenience, labeling goes on.
  }
}

export function clearDraft(projectId: number, imageId: number, storage: Storage = localStorage): void {
  try {
    storage.removeItem(draftKey(projectId, imageId));
  } catch {
    // see saveDraft
  }
}

export function dropOtherDrafts(projectId: number, keepImageId: number, storage: Storage = localStorage): void {
  try {
    const prefix = `${PREFIX}${projectId}:`;
    const keep = draftKey(projectId, keepImageId);
    const stale: string[] = [];
    for (let i = 0; i < storage.length; i++) {
      const key = storage.key(i);
      if (key && key.startsWith(prefix) && key !== keep) stale.push(key);
    }
    for (const key of stale) storage.removeItem(key);
  } catch {
    // see saveDraft
  }
}
