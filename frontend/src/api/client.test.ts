// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from "vitest";
import { api, ApiError, errorMessage, isNotAvailable, readCookie } from "./client";

afterEach(() => {
  vi.unstubAllGlobals();
  document.cookie = "csrftoken=; expires=Thu, 01 Jan 1970 00:00:00 GMT";
});

describe("api client", () => {
  it("reads cookies", () => {
    expect(readCookie("csrftoken", "a=1; csrftoken=abc%3D; b=2")).toBe("abc=");
    expect(readCookie("x", "a=1")).toBeUndefined();
  });

  it("sends the CSRF header on writes only, with same-origin credentials", async () => {
    document.cookie = "csrftoken=tok123";
    const fetchMock = vi.fn().mockImplementation(async () => new Response(JSON.stringify({ ok: 1 }), { status: 200 }));
    vi.stubGlobal("fetch", fetchMock);
    await api("/api/x", { method: "POST", body: { a: 1 } });
    await api("/api/y");
    const [, post] = fetchMock.mock.calls[0]!;
    expect(post.headers["X-CSRFToken"]).toBe("tok123");
    expect(post.credentials).toBe("same-origin");
    expect(post.body).toBe('{"a":1}');
    const [, get] = fetchMock.mock.calls[1]!;
    expect(get.headers["X-CSRFToken"]).toBeUndefined();
    expect(get.method).toBe("GET");
  });

  it("turns error answers into ApiError with code and detail", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn().mockResolvedValue(new Response(JSON.stringify({ code: "pool_empty", detail: "Empty." }), { status: 409 })),
    );
    const error = await api("/api/q", { method: "POST", body: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(409);
    expect((error as ApiError).code).toBe("pool_empty");
    expect((error as ApiError).message).toBe("Empty.");
  });

  it("returns null for 204", async () => {
    vi.stubGlobal("fetch", vi.fn().mockResolvedValue(new Response(null, { status: 204 })));
    expect(await api("/api/z")).toBeNull();
  });

  it("formats DRF field errors", () => {
    expect(errorMessage(400, { amount: ["Must be positive."], non_field_errors: ["Nope."] })).toBe(
      "amount: Must be positive.; Nope.",
    );
    expect(errorMessage(502, "<html>…</html>".repeat(50))).toBe("Request failed (HTTP 502)");
  });

  it("knows which errors mean 'not available yet'", () => {
    expect(isNotAvailable(new ApiError(404, null))).toBe(true);
    expect(isNotAvailable(new ApiError(403, null))).toBe(false);
  });
});
