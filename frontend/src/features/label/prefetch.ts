/**
 * Warms the browser cache with the images the queue is about to hand out.
 *
 * queue/next returns the image I already hold until I submit or skip it, so a
 * second reservation cannot be taken ahead of time. The queue hands out the
 * unlabeled image with the highest priority (ties by id), so the first few of
 * `images?status=unlabeled&ordering=-priority,id` are what comes next, unless
 * another annotator takes them first, in which case we only lose a download.
 */
import { api } from "../../api/client";
import type { Image, Paginated } from "../../api/types";

export function nextCandidates(images: readonly Pick<Image, "id" | "file_url">[], currentId: number, n: number): string[] {
  return images
    .filter((image) => image.id !== currentId)
    .slice(0, n)
    .map((image) => image.file_url);
}

const preloaded = new Set<string>();

function preloadImage(url: string): void {
  if (preloaded.has(url)) return;
  preloaded.add(url);
  const img = new Image();
  img.decoding = "async";
  img.src = url;
}

export async function prefetchNextImages(projectId: number, currentId: number, n = 2): Promise<void> {
  try {
    const page = await api<Paginated<Image>>(
      `/api/projects/${projectId}/images?status=unlabeled&ordering=-priority,id&page_size=${n + 1}`,
    );
    for (const url of nextCandidates(page.results, currentId, n)) preloadImage(url);
  } catch {
    // Prefetching is an optimisation only.
  }
}
