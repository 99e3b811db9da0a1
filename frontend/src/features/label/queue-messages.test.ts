import { describe, expect, it } from "vitest";
import { ApiError } from "../../api/client";
import { queueConflictMessage } from "./queue-messages";

describe("queueConflictMessage", () => {
  it("tells a spent budget from an empty pool", () => {
    const budget = queueConflictMessage(new ApiError(409, { code: "budget_exhausted", detail: "No credits." }));
    expect(budget?.kind).toBe("budget");
    expect(budget?.title).toMatch(/budget/i);
    const empty = queueConflictMessage(new ApiError(409, { code: "pool_empty", detail: "Empty." }));
    expect(empty?.kind).toBe("empty");
    expect(empty?.title).toMatch(/nothing left/i);
  });

  it("falls back to the server's detail for another 409", () => {
    expect(queueConflictMessage(new ApiError(409, { code: "weird", detail: "Locked." }))).toEqual({
      kind: "other",
      title: "No image available",
      body: "Locked.",
    });
  });

  it("is null for anything but a 409", () => {
    expect(queueConflictMessage(new ApiError(500, { detail: "x" }))).toBeNull();
    expect(queueConflictMessage(new Error("x"))).toBeNull();
  });
});
