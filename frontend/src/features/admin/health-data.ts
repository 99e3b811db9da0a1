/**
 * Reads the health report, which the schema leaves free-form. The server sends
 * (learning/health.py) `class_names`, `class_counts` (C ints), `heatmap`
 * (C × grid × grid), `size_bins` (edges), `size_hist` (C × bins) and
 * `recommendations`; dict-shaped variants (`{class: n}`, `heatmaps`,
 * `size_histograms`) are read too.
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

export interface Recommendation {
  code: string;
  message: string;
  severity?: string;
}

export interface Health {
  classCounts: { label: string; count: number }[];
  heatmaps: NamedGrid[];
  histograms: NamedHistogram[];
  recommendations: Recommendation[];
  facts: { label: string; value: string }[];
}

const isNumberArray = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === "number");
const isGrid = (v: unknown): v is number[][] => Array.isArray(v) && v.length > 0 && v.every(isNumberArray);
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function fmtEdge(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return Math.abs(n) < 1 ? n.toFixed(2) : n.toFixed(1);
}

function binLabels(count: number, edges: number[] | null): string[] {
  return Array.from({ length: count }, (_, i) => {
    if (edges && edges.length === count + 1) return `${fmtEdge(edges[i]!)}–${fmtEdge(edges[i + 1]!)}`;
    if (edges && edges.length === count) return fmtEdge(edges[i]!);
    return String(i + 1);
  });
}

function binsFrom(v: unknown, sharedEdges: number[] | null = null): HistogramBin[] | null {
  if (isNumberArray(v)) {
    const labels = binLabels(v.length, sharedEdges);
    return v.map((count, i) => ({ label: labels[i]!, count }));
  }
  if (!isRecord(v) || !isNumberArray(v.counts)) return null;
  const edges = isNumberArray(v.edges) ? v.edges : isNumberArray(v.bins) ? v.bins : sharedEdges;
  const labels = binLabels(v.counts.length, edges);
  return v.counts.map((count, i) => ({ label: labels[i]!, count }));
}

export function normalizeHeatmaps(value: unknown, names: string[] = []): NamedGrid[] {
  if (isGrid(value)) return [{ name: "All classes", grid: value }];
  if (Array.isArray(value) && value.every(isGrid)) {
    return value.map((grid, i) => ({ name: names[i] ?? `class ${i + 1}`, grid }));
  }
  if (!isRecord(value)) return [];
  if (isGrid(value.grid)) return [{ name: "All classes", grid: value.grid }];
  const out: NamedGrid[] = [];
  for (const [name, v] of Object.entries(value)) {
    if (isGrid(v)) out.push({ name, grid: v });
    else if (isRecord(v) && isGrid(v.grid)) out.push({ name, grid: v.grid });
  }
  return out;
}

export function normalizeHistograms(value: unknown, names: string[] = [], edges: number[] | null = null): NamedHistogram[] {
  if (isGrid(value) && names.length === value.length) {
    return value.map((row, i) => ({ name: names[i]!, bins: binsFrom(row, edges)! }));
  }
  const direct = binsFrom(value, edges);
  if (direct) return [{ name: "All classes", bins: direct }];
  if (!isRecord(value)) return [];
  const out: NamedHistogram[] = [];
  for (const [name, v] of Object.entries(value)) {
    const bins = binsFrom(v, edges);
    if (bins) out.push({ name, bins });
  }
  return out;
}

export function gridMax(grid: number[][]): number {
  let max = 0;
  for (const row of grid) for (const v of row) if (v > max) max = v;
  return max;
}

export function readHealth(report: Record<string, unknown>): Health {
  const names = Array.isArray(report.class_names) ? report.class_names.map(String) : [];
  const counts = report.class_counts;
  const classCounts = isNumberArray(counts)
    ? counts.map((count, i) => ({ label: names[i] ?? `class ${i + 1}`, count }))
    : isRecord(counts)
      ? Object.entries(counts)
          .filter(([, n]) => typeof n === "number")
          .map(([label, n]) => ({ label, count: n as number }))
      : [];
  const edges = isNumberArray(report.size_bins) ? report.size_bins : null;
  const recommendations = Array.isArray(report.recommendations)
    ? report.recommendations.filter(isRecord).map((r) => ({
        code: String(r.code ?? "note"),
        message: String(r.message ?? ""),
        severity: typeof r.severity === "string" ? r.severity : undefined,
      }))
    : [];
  const facts: { label: string; value: string }[] = [];
  if (typeof report.num_images === "number") facts.push({ label: "Labeled images", value: String(report.num_images) });
  if (typeof report.boxes_per_image === "number") facts.push({ label: "Boxes per image", value: report.boxes_per_image.toFixed(2) });
  if (typeof report.images_without_boxes === "number") {
    facts.push({ label: "Images without boxes", value: String(report.images_without_boxes) });
  }
  if (isRecord(report.brightness) && typeof report.brightness.dark_fraction === "number") {
    facts.push({ label: "Dark images", value: `${(report.brightness.dark_fraction * 100).toFixed(0)}%` });
  }
  return {
    classCounts,
    heatmaps: normalizeHeatmaps(report.heatmap ?? report.heatmaps, names),
    histograms: normalizeHistograms(report.size_hist ?? report.size_histograms, names, edges),
    recommendations,
    facts,
  };
}

/** Histograms as rows for a grouped bar chart: one row per bin, a `c<i>` column per class. */
export function histogramRows(histograms: readonly NamedHistogram[]): Record<string, string | number>[] {
  const bins = Math.max(0, ...histograms.map((h) => h.bins.length));
  return Array.from({ length: bins }, (_, b) => {
    const row: Record<string, string | number> = { bin: histograms.find((h) => h.bins[b])?.bins[b]?.label ?? String(b + 1) };
    histograms.forEach((h, i) => {
      row[`c${i}`] = h.bins[b]?.count ?? 0;
    });
    return row;
  });
}
