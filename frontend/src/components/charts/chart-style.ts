/** Shared look of the recharts plots: readable ticks, light grid, no animation (screenshots and tests see the final state). */
export const TICK = { fontSize: 12, fill: "#475569" } as const;
export const AXIS_LABEL = { fontSize: 12, fill: "#334155" } as const;
export const GRID_STROKE = "#e2e8f0";
export const LEGEND_STYLE = { fontSize: 12 } as const;

const PALETTE = ["#2563eb", "#f97316", "#16a34a", "#9333ea", "#dc2626", "#0891b2"];

/** Random sampling is the grey baseline; other series take the palette in order. */
export function seriesColor(name: string, index: number): string {
  if (name === "random") return "#64748b";
  return PALETTE[index % PALETTE.length]!;
}

/** The smallest "nice" upper bound (…, 0.2, 0.5, 1, 2, 5, 10, …) at or above `max`. */
export function niceCeil(max: number): number {
  if (!(max > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= max) return step * magnitude;
  return 10 * magnitude;
}
