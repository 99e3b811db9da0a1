import type { Box, HistoryEntry, ImageRecord, LabelClass } from "../../api/types";

/** "brown_box ×2, yellow_box" for a detection label; the class name for a classification one. */
export function labelSummary(
  labelClass: number | null | undefined,
  boxes: readonly Box[],
  classById: ReadonlyMap<number, LabelClass>,
): string {
  if (labelClass != null) return classById.get(labelClass)?.name ?? `class ${labelClass}`;
  if (boxes.length === 0) return "no boxes";
  const counts = new Map<string, number>();
  for (const box of boxes) {
    const name = classById.get(box.label_class)?.name ?? `class ${box.label_class}`;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return [...counts.entries()].map(([name, n]) => (n > 1 ? `${name} ×${n}` : name)).join(", ");
}

const ACTION_WORDS: Record<string, string> = {
  labeled: "labeled",
  edited: "edited",
  fixed: "fixed",
  approve: "approved",
  fix: "fixed in review",
  reject: "rejected",
};

/** One history line: "anna labeled: cat", "rita rejected: wrong class". */
export function historyLine(entry: HistoryEntry, classById: ReadonlyMap<number, LabelClass>): string {
  const who = entry.who ?? "someone";
  const verb = ACTION_WORDS[entry.action] ?? entry.action;
  if (entry.kind === "review") return entry.reason ? `${who} ${verb}: ${entry.reason}` : `${who} ${verb}`;
  return `${who} ${verb}: ${labelSummary(entry.label_class, entry.boxes, classById)}`;
}

/** The most probable class of a classification prediction, with its probability. */
export function topClass(probs: Record<string, number> | null | undefined): { id: number; p: number } | null {
  if (!probs) return null;
  let best: { id: number; p: number } | null = null;
  for (const [id, p] of Object.entries(probs)) if (best === null || p > best.p) best = { id: Number(id), p };
  return best;
}

/** The consensus pair in words: "second, blind label by bob: orange (disagrees)". */
export function consensusLine(
  consensus: NonNullable<ImageRecord["consensus"]>,
  classById: ReadonlyMap<number, LabelClass>,
): string {
  const verdict = consensus.agreed == null ? "not compared" : consensus.agreed ? "agrees" : "disagrees";
  const who = consensus.annotator ?? "someone";
  return `Second, blind label by ${who}: ${labelSummary(consensus.label_class, consensus.boxes, classById)} (${verdict})`;
}
