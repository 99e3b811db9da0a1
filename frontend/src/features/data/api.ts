import { api } from "../../api/client";
import type { Box, BrowserPage, ImageRecord, ReviewDecisionInput, ReviewNext } from "../../api/types";

/** The data browser's filters and sort, as they appear in the URL's query string. */
export interface BrowserQuery {
  status?: string;
  split?: string;
  source?: string;
  label_class?: string;
  annotator?: string;
  created_from?: string;
  created_to?: string;
  disagreement?: boolean;
  suspected?: boolean;
  near_duplicates?: boolean;
  /** An image id: that image and the images flagged as its near-duplicates. */
  duplicate_group?: string;
  sort?: "newest" | "priority" | "suspicion";
}

export const FILTER_KEYS = ["status", "split", "source", "label_class", "annotator", "created_from", "created_to", "duplicate_group", "sort"] as const;

/** The API query string for a page: empty values are left out; dates become whole-day bounds. */
export function browserSearch(query: BrowserQuery, cursor?: string | null, pageSize = 60): string {
  const params = new URLSearchParams();
  for (const key of FILTER_KEYS) {
    const value = query[key];
    if (!value) continue;
    if (key === "created_from") params.set(key, `${value}T00:00:00Z`);
    else if (key === "created_to") params.set(key, `${value}T23:59:59Z`);
    else params.set(key, value);
  }
  if (query.disagreement) params.set("disagreement", "true");
  if (query.suspected) params.set("suspected", "true");
  if (query.near_duplicates) params.set("near_duplicates", "true");
  if (cursor) params.set("cursor", cursor);
  params.set("page_size", String(pageSize));
  return params.toString();
}

export const fetchBrowserPage = (projectId: number, query: BrowserQuery, cursor?: string | null) =>
  api<BrowserPage>(`/api/projects/${projectId}/data?${browserSearch(query, cursor)}`);

export const fetchImageRecord = (projectId: number, imageId: number) =>
  api<ImageRecord>(`/api/projects/${projectId}/data/${imageId}`);

export interface LabelInput {
  label_class?: number | null;
  boxes?: Box[] | null;
}

export const editLabel = (projectId: number, imageId: number, body: LabelInput) =>
  api<ImageRecord>(`/api/projects/${projectId}/data/${imageId}/label`, { method: "POST", body });

export const fetchNextReview = (projectId: number, skip: readonly number[]) =>
  api<ReviewNext>(`/api/projects/${projectId}/review/next${skip.length ? `?skip=${skip.join(",")}` : ""}`);

export const decideReview = (projectId: number, body: ReviewDecisionInput) =>
  api<unknown>(`/api/projects/${projectId}/review`, { method: "POST", body });

export const setGold = (projectId: number, imageId: number, gold: boolean) =>
  api<ImageRecord>(`/api/projects/${projectId}/data/${imageId}/gold`, { method: gold ? "POST" : "DELETE" });
