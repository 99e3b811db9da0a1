/** Keyboard shortcuts of the labeling page, as a pure key → command mapping. */

export type LabelCommand =
  | { type: "class"; key: string }
  | { type: "submit" }
  | { type: "skip" }
  | { type: "undo" }
  | { type: "acceptAll" }
  | { type: "delete" }
  | { type: "deselect" }
  | { type: "zoomIn" }
  | { type: "zoomOut" }
  | { type: "fit" };

export interface KeyLike {
  key: string;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
}

export function keyToCommand(event: KeyLike, taskType: "classification" | "detection"): LabelCommand | null {
  const key = event.key;
  const mod = Boolean(event.ctrlKey || event.metaKey);
  if (mod && (key === "z" || key === "Z")) return { type: "undo" };
  if (mod || event.altKey) return null;
  if (/^[1-9]$/.test(key)) return { type: "class", key };
  switch (key) {
    case "Enter":
      return { type: "submit" };
    case "s":
    case "S":
      return { type: "skip" };
    case "z":
    case "Z":
      return { type: "undo" };
    case "a":
    case "A":
      return taskType === "detection" ? { type: "acceptAll" } : null;
    case "Delete":
    case "Backspace":
      return taskType === "detection" ? { type: "delete" } : null;
    case "Escape":
      return { type: "deselect" };
    case "+":
    case "=":
      return { type: "zoomIn" };
    case "-":
      return { type: "zoomOut" };
    case "0":
      return { type: "fit" };
    default:
      return null;
  }
}

/** True when typing in this element must not trigger shortcuts. */
export function isTypingTarget(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  if (target instanceof HTMLInputElement) {
    return !["range", "checkbox", "radio", "button", "submit"].includes(target.type);
  }
  return false;
}

/** The class for a digit key: the class whose hotkey it is, else the n-th class. */
export function classForKey<C extends { id: number; hotkey?: string | null }>(key: string, classes: readonly C[]): C | undefined {
  return classes.find((c) => c.hotkey === key) ?? (classes.some((c) => c.hotkey) ? undefined : classes[Number(key) - 1]);
}

/**
 * True when Enter on this element must do the element's own thing rather than submit the image.
 * A mouse click leaves focus on a sidebar button (class, box row, hide), and Enter would click
 * it again; so inside the labeling page Enter submits unless the focused control is marked to
 * keep it. Links, and controls outside the page (the header), keep their Enter; Space still
 * presses any focused button for keyboard users.
 */
export function enterKeepsNativeAction(target: EventTarget | null, page: Element | null): boolean {
  if (!(target instanceof Element)) return false;
  // `data-enter-activates` marks a control whose own action Enter triggers (Submit itself, a retry).
  if (target.closest("[data-enter-activates]") || target.closest("a[href]")) return true;
  const interactive = target.closest("button, summary, [role=button]");
  return interactive !== null && !(page?.contains(interactive) ?? false);
}
