/**
 * Normalises the health check's heatmaps and size histograms, whose exact nesting
 * the server may choose (one grid or one per class; counts with bin edges or bare).
 */

export interface NamedGrid {
  name: string;
  grid: number[][];
}

export interface HistogramBin {
  label: string;
  count: number;
}

export interface NamedHistogram {
  name: string;
  bins: HistogramBin[];
}

const isNumberArray = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === "number");
const isGrid = (v: unknown): v is number[][] => Array.isArray(v) && v.length > 0 && v.every(isNumberArray);
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export function normalizeHeatmaps(value: unknown): NamedGrid[] {
  if (isGrid(value)) return [{ name: "All classes", grid: value }];
  if (!isRecord(value)) return [];
  if (isGrid(value.grid)) return [{ name: "All classes", grid: value.grid }];
  const out: NamedGrid[] = [];
  for (const [name, v] of Object.entries(value)) {
    if (isGrid(v)) out.push({ name, grid: v });
    else if (isRecord(v) && isGrid(v.grid)) out.push({ name, grid: v.grid });
  }
  return out;
}

function fmtEdge(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return Math.abs(n) < 1 ? n.toFixed(2) : n.toFixed(1);
}

function binsFrom(v: unknown): HistogramBin[] | null {
  if (isNumberArray(v)) return v.map((count, i) => ({ label: String(i + 1), count }));
  if (!isRecord(v) || !isNumberArray(v.counts)) return null;
  const counts = v.counts;
  const edges = isNumberArray(v.edges) ? v.edges : isNumberArray(v.bins) ? v.bins : null;
  return counts.map((count, i) => {
    if (edges && edges.length === counts.length + 1) return { label: `${fmtEdge(edges[i]!)}–${fmtEdge(edges[i + 1]!)}`, count };
    if (edges && edges.length === counts.length) return { label: fmtEdge(edges[i]!), count };
    return { label: String(i + 1), count };
  });
}

export function normalizeHistograms(value: unknown): NamedHistogram[] {
  const direct = binsFrom(value);
  if (direct) return [{ name: "All classes", bins: direct }];
  if (!isRecord(value)) return [];
  const out: NamedHistogram[] = [];
  for (const [name, v] of Object.entries(value)) {
    const bins = binsFrom(v);
    if (bins) out.push({ name, bins });
  }
  return out;
}

export function gridMax(grid: number[][]): number {
  let max = 0;
  for (const row of grid) for (const v of row) if (v > max) max = v;
  return max;
}
