import { describe, expect, it, vi } from "vitest";
import { QueueLookahead } from "./queue-lookahead";

const item = (id: number) => ({ image: { id, file_url: `/media/${id}.png` } });

describe("QueueLookahead", () => {
  it("hands out the prefetched reservation and preloads its file", async () => {
    const fetchNext = vi.fn().mockResolvedValueOnce(item(1)).mockResolvedValueOnce(item(2));
    const preload = vi.fn();
    const q = new QueueLookahead(fetchNext, preload);
    expect(await q.take(null)).toEqual(item(1));
    q.prefetch();
    q.prefetch(); // only one request in flight
    expect(await q.take(1)).toEqual(item(2));
    expect(fetchNext).toHaveBeenCalledTimes(2);
    expect(preload).toHaveBeenCalledWith("/media/2.png");
  });

  it("fetches fresh when the prefetch returned the image just finished", async () => {
    const fetchNext = vi.fn().mockResolvedValueOnce(item(1)).mockResolvedValueOnce(item(3));
    const q = new QueueLookahead(fetchNext, () => {});
    q.prefetch();
    expect(await q.take(1)).toEqual(item(3));
  });

  it("retries once a prefetch failed, and surfaces a fresh failure", async () => {
    const conflict = new Error("409");
    const fetchNext = vi.fn().mockRejectedValueOnce(conflict).mockResolvedValueOnce(item(4));
    const q = new QueueLookahead(fetchNext, () => {});
    q.prefetch();
    expect(await q.take(1)).toEqual(item(4));
    fetchNext.mockRejectedValueOnce(conflict).mockRejectedValueOnce(conflict);
    q.prefetch();
    await expect(q.take(4)).rejects.toBe(conflict);
  });
});
