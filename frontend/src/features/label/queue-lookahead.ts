/**
 * Keeps one reservation ahead of the annotator so the next image is already
 * reserved and its file downloaded when the current one is submitted or skipped.
 * Framework-free: `fetchNext` is POST queue/next, `preload` warms the browser cache.
 */

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

export interface Reserved {
  image: { id: number; file_url: string };
}

export class QueueLookahead<T extends Reserved> {
  private pending: Promise<Settled<T>> | null = null;

  constructor(
    private readonly fetchNext: () => Promise<T>,
    private readonly preload: (url: string) => void,
  ) {}

  /** Starts reserving the image after `currentImageId`, once. */
  prefetch(): void {
    if (this.pending) return;
    this.pending = this.fetchNext().then(
      (value) => {
        this.preload(value.image.file_url);
        return { ok: true as const, value };
      },
      (error: unknown) => ({ ok: false as const, error }),
    );
  }

  /**
   * The next image to show after `finishedImageId`. A prefetched reservation is
   * used when it is a different image; a prefetch that failed (409 while the
   * current reservation still held a credit, say) or returned the same image is
   * retried fresh, since submitting or skipping may have changed the answer.
   */
  async take(finishedImageId: number | null): Promise<T> {
    const pending = this.pending;
    this.pending = null;
    if (pending) {
      const result = await pending;
      if (result.ok && result.value.image.id !== finishedImageId) return result.value;
    }
    return this.fetchNext();
  }

  /** Forgets a prefetched reservation (it expires on the server by itself). */
  reset(): void {
    this.pending = null;
  }
}
