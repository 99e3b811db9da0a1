import { ApiError } from "../../api/client";

export interface QueueMessage {
  kind: "budget" | "empty" | "other";
  title: string;
  body: string;
}

/** What to tell the annotator when queue/next answers 409 (the `code` says why). */
export function queueConflictMessage(error: unknown): QueueMessage | null {
  if (!(error instanceof ApiError) || error.status !== 409) return null;
  if (error.code === "budget_exhausted") {
    return {
      kind: "budget",
      title: "The labeling budget is used up",
      body: "Every credit of this project is spent or reserved. Ask a project admin to grant more credits.",
    };
  }
  if (error.code === "pool_empty") {
    return {
      kind: "empty",
      title: "Nothing left to label",
      body: "Every image in the pool is labeled or reserved by someone else. Upload more images or come back later.",
    };
  }
  return { kind: "other", title: "No image available", body: error.message };
}
