import { ApiError } from "../../api/client";
import type { ImageUploadError, ImageUploadResult, UploadDuplicatesReport } from "../../api/types";

export type UploadStatus = "queued" | "uploading" | "created" | "duplicate" | "rejected" | "failed";

export interface UploadItem {
  key: string;
  file: File;
  /** Path inside a dropped folder, else the file name. */
  path: string;
  status: UploadStatus;
  progress: number;
  reason?: string;
  /** The stored image, once created (its near-duplicate check follows in the worker). */
  imageId?: number;
}

export type UploadAction =
  | { type: "add"; files: { file: File; path: string }[] }
  | { type: "start"; key: string }
  | { type: "progress"; key: string; progress: number }
  | { type: "finish"; key: string; status: UploadStatus; reason?: string; imageId?: number }
  | { type: "clearFinished" };

let counter = 0;

export function uploadReducer(items: UploadItem[], action: UploadAction): UploadItem[] {
  switch (action.type) {
    case "add":
      return [
        ...items,
        ...action.files.map(({ file, path }) => ({
          key: `u${++counter}`,
          file,
          path,
          status: "queued" as const,
          progress: 0,
        })),
      ];
    case "start":
      return items.map((i) => (i.key === action.key ? { ...i, status: "uploading", progress: 0 } : i));
    case "progress":
      return items.map((i) => (i.key === action.key ? { ...i, progress: action.progress } : i));
    case "finish":
      return items.map((i) =>
        i.key === action.key
          ? { ...i, status: action.status, reason: action.reason, imageId: action.imageId, progress: 1 }
          : i,
      );
    case "clearFinished":
      return items.filter((i) => i.status === "queued" || i.status === "uploading");
  }
}

/** A 201 answer: the file was stored, or it was already in the project. */
export function outcomeOfSuccess(result: ImageUploadResult): { status: UploadStatus; reason?: string; imageId?: number } {
  const created = result.created[0];
  if (created) return { status: "created", imageId: created.id };
  const dup = result.duplicates[0];
  if (dup) return { status: "duplicate", reason: `Already in the project as image #${dup.id} (${dup.original_name})` };
  return { status: "failed", reason: "The server stored nothing and gave no reason." };
}

/** A failed request: a 400 with per-file reasons is a rejection, anything else a failure. */
export function outcomeOfError(error: unknown, fileName: string): { status: UploadStatus; reason: string } {
  if (error instanceof ApiError && error.status === 400) {
    const body = error.body as Partial<ImageUploadError> | null;
    const own = body?.errors?.find((e) => e.file === fileName) ?? body?.errors?.[0];
    const files = (body as Record<string, unknown> | null)?.files;
    const fieldReason = Array.isArray(files) ? files.map(String).join(" ") : undefined;
    return { status: "rejected", reason: own?.detail ?? fieldReason ?? body?.detail ?? error.message };
  }
  return { status: "failed", reason: error instanceof Error ? error.message : String(error) };
}

/** The server's near-duplicate report takes at most this many ids: the latest uploads are asked about. */
export const REPORT_IDS = 1000;

/** Ids of this session's stored uploads, for the near-duplicate report. */
export function createdIds(items: readonly UploadItem[]): number[] {
  const ids = items.flatMap((i) => (i.status === "created" && i.imageId !== undefined ? [i.imageId] : []));
  return ids.slice(-REPORT_IDS);
}

/** What the uploader reads about near-duplicates: one line per flagged image, and whether the
 * worker is still checking. */
export function nearDuplicateLines(report: UploadDuplicatesReport): { lines: string[]; status: string } {
  if (!report.available) {
    return { lines: [], status: "Near-duplicates are not checked: the server runs without the pretrained backbone." };
  }
  const lines = report.near_duplicates.map(
    (d) => `${d.name} looks like ${d.duplicate_of_name} (image #${d.duplicate_of}, cosine ${d.similarity.toFixed(2)})`,
  );
  const status = report.pending.length
    ? `Checking ${report.pending.length} new image${report.pending.length === 1 ? "" : "s"} for near-duplicates…`
    : `${report.near_duplicates.length} of ${report.checked} new images look like an earlier image (cosine ≥ ${report.threshold}). They are stored; the queue never hands out two of them in one batch.`;
  return { lines, status };
}

export function summarize(items: readonly UploadItem[]): Record<UploadStatus, number> {
  const out: Record<UploadStatus, number> = { queued: 0, uploading: 0, created: 0, duplicate: 0, rejected: 0, failed: 0 };
  for (const i of items) out[i.status] += 1;
  return out;
}

/** Reads every file out of a drop, descending into dropped folders. */
export async function filesFromDataTransfer(dt: DataTransfer): Promise<{ file: File; path: string }[]> {
  const entries = Array.from(dt.items ?? [])
    .map((item) => (typeof item.webkitGetAsEntry === "function" ? item.webkitGetAsEntry() : null))
    .filter((e): e is FileSystemEntry => e !== null);
  if (entries.length === 0) return Array.from(dt.files).map((file) => ({ file, path: file.name }));
  const out: { file: File; path: string }[] = [];
  async function walk(entry: FileSystemEntry, prefix: string): Promise<void> {
    if (entry.isFile) {
      const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
      if (!file.name.startsWith(".")) out.push({ file, path: prefix + file.name });
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
        if (batch.length === 0) break;
        for (const child of batch) await walk(child, `${prefix}${entry.name}/`);
      }
    }
  }
  for (const entry of entries) await walk(entry, "");
  return out;
}
