/** "pill" → "pills"; names already plural or ending in s stay as they are. */
export function pluralize(name: string, n: number): string {
  if (n === 1 || /s$/i.test(name)) return name;
  if (/[^aeiou]y$/i.test(name)) return `${name.slice(0, -1)}ies`;
  if (/(x|ch|sh)$/i.test(name)) return `${name}es`;
  return `${name}s`;
}

/** "The model counted 12 pills" (and "3 capsules" …) from `{class_name: n}`. */
export function countSentence(counts: Record<string, number>): string {
  const parts = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([name, n]) => `${n} ${pluralize(name.replaceAll("_", " "), n)}`);
  if (parts.length === 0) return "The model found nothing";
  const list = parts.length === 1 ? parts[0] : `${parts.slice(0, -1).join(", ")} and ${parts[parts.length - 1]}`;
  return `The model counted ${list}`;
}

export function totalCount(counts: Record<string, number>): number {
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}
