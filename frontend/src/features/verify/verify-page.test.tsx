// @vitest-environment jsdom
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { fireEvent, render, screen } from "@testing-library/react";
import { createMemoryRouter, RouterProvider } from "react-router";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { VerifyPage } from "./verify-page";

let nextAnswers: { status: number; body: unknown }[];
let posted: unknown[];

beforeEach(() => {
  nextAnswers = [];
  posted = [];
  vi.stubGlobal("ResizeObserver", class { observe() {} disconnect() {} });
  vi.stubGlobal(
    "fetch",
    vi.fn().mockImplementation(async (url: string, init: RequestInit) => {
      const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status });
      if (url === "/api/projects/1/classes") return json(200, [{ id: 3, name: "pill", color: "#ff0000", hotkey: "1" }]);
      if (url === "/api/projects/1/verifications/next") {
        const answer = nextAnswers.shift() ?? { status: 409, body: { code: "nothing_to_verify", detail: "None." } };
        return json(answer.status, answer.body);
      }
      if (url === "/api/projects/1/verifications") {
        posted.push(JSON.parse(init.body as string));
        return json(201, {});
      }
      return json(404, { detail: "Not found." });
    }),
  );
});

afterEach(() => vi.unstubAllGlobals());

function renderPage() {
  const router = createMemoryRouter([{ path: "/projects/:projectId/verify", element: <VerifyPage /> }], {
    initialEntries: ["/projects/1/verify"],
  });
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <RouterProvider router={router} />
    </QueryClientProvider>,
  );
}

const prediction = (id: number, n: number) => ({
  prediction: {
    id,
    image: { id: 10 + id, file_url: `/f/${id}`, width: 100, height: 80 },
    boxes: [],
    counts: { pill: n },
    total_count: n,
    label_class: null,
    model_version: 2,
  },
  lease_expires_at: "2026-01-01T00:00:00Z",
});

describe("VerifyPage", () => {
  it("says verification is not enabled when the endpoint is missing", async () => {
    nextAnswers.push({ status: 404, body: { detail: "Not found.", code: "not_found" } });
    renderPage();
    expect(await screen.findByText("Verification is not enabled yet")).toBeInTheDocument();
  });

  it("records C as correct and an incorrect count, then says when nothing is left", async () => {
    nextAnswers.push({ status: 200, body: prediction(1, 12) }, { status: 200, body: prediction(2, 4) });
    renderPage();
    expect(await screen.findByText("The model counted 12 pills")).toBeInTheDocument();
    fireEvent.keyDown(window, { key: "c" });
    expect(await screen.findByText("The model counted 4 pills")).toBeInTheDocument();
    fireEvent.change(screen.getByLabelText("True count (optional)"), { target: { value: "5" } });
    fireEvent.click(screen.getByRole("button", { name: /Incorrect/ }));
    expect(await screen.findByText("Nothing to verify right now")).toBeInTheDocument();
    expect(posted).toEqual([
      { prediction: 1, verdict: "correct" },
      { prediction: 2, verdict: "incorrect", true_count: 5 },
    ]);
  });
});
