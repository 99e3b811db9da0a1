// @vitest-environment jsdom
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { createMemoryRouter, RouterProvider } from "react-router";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LabelPage } from "./label-page";

const project = {
  id: 1,
  name: "Cats",
  description: "",
  task_type: "classification",
  my_role: "annotator",
  settings: {},
  balance: { granted: 5, reserved: 0, spent: 0, available: 5 },
  label_classes: [],
  created_at: "2026-01-01T00:00:00Z",
};
const classes = [
  { id: 10, name: "cat", color: "#ff0000", hotkey: "1" },
  { id: 11, name: "dog", color: "#0000ff", hotkey: "2" },
];
const image = (id: number) => ({
  id,
  project: 1,
  original_name: `img-${id}.png`,
  width: 64,
  height: 48,
  sha256: "x",
  file_url: `/f/${id}`,
  thumbnail_url: `/t/${id}`,
  created_at: "2026-01-01T00:00:00Z",
});
const reservation = (id: number) => ({
  reservation: { id, expires_at: "2026-01-01T00:10:00Z", created_at: "2026-01-01T00:00:00Z" },
  image: image(id),
  prediction: { model_version: 1, probs: { "10": 0.8, "11": 0.2 }, boxes: null, score: 0.4 },
  reason: { strategy: "least_confident", score: 0.4 },
  balance: { granted: 5, reserved: 1, spent: 0, available: 4 },
});

type Call = { method: string; url: string; body: unknown };
let calls: Call[];
let queue: { status: number; body: unknown }[];

beforeEach(() => {
  calls = [];
  queue = [];
  vi.stubGlobal(
    "ResizeObserver",
    class {
      observe() {}
      disconnect() {}
    },
  );
  vi.stubGlobal(
    "fetch",
    vi.fn().mockImplementation(async (url: string, init: RequestInit) => {
      const method = init.method ?? "GET";
      calls.push({ method, url, body: init.body ? JSON.parse(init.body as string) : undefined });
      const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status });
      if (url === "/api/projects/1") return json(200, project);
      if (url === "/api/projects/1/classes") return json(200, classes);
      if (url === "/api/projects/1/stats") return json(200, { images_by_status: {}, labeled_today_by_me: 3 });
      if (url.startsWith("/api/projects/1/images")) return json(200, { count: 0, results: [] });
      if (url === "/api/projects/1/queue/next") {
        const next = queue.shift() ?? { status: 409, body: { code: "pool_empty", detail: "Empty." } };
        return json(next.status, next.body);
      }
      if (url === "/api/projects/1/annotations") return json(201, {});
      if (url === "/api/projects/1/queue/skip") return json(200, project.balance);
      return json(404, { detail: "Not found." });
    }),
  );
});

afterEach(() => vi.unstubAllGlobals());

function renderPage() {
  const router = createMemoryRouter([{ path: "/projects/:projectId/label", element: <LabelPage /> }], {
    initialEntries: ["/projects/1/label"],
  });
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <RouterProvider router={router} />
    </QueryClientProvider>,
  );
}

describe("LabelPage (classification)", () => {
  it("starts from the model's top class, takes keys 1–9, submits with Enter and explains an empty pool", async () => {
    queue.push({ status: 200, body: reservation(5) });
    renderPage();
    expect(await screen.findByText("img-5.png")).toBeInTheDocument();
    expect(screen.getByTestId("credits-left")).toHaveTextContent("4");
    expect(screen.getByTestId("reason")).toHaveTextContent("least confident");
    expect(screen.getByRole("radio", { name: /cat/ })).toHaveAttribute("aria-checked", "true");
    fireEvent.keyDown(window, { key: "2" });
    expect(screen.getByRole("radio", { name: /dog/ })).toHaveAttribute("aria-checked", "true");
    fireEvent.keyDown(window, { key: "z" });
    expect(screen.getByRole("radio", { name: /cat/ })).toHaveAttribute("aria-checked", "true");
    fireEvent.keyDown(window, { key: "2" });
    fireEvent.keyDown(window, { key: "Enter" });
    expect(await screen.findByText("Nothing left to label")).toBeInTheDocument();
    const submit = calls.find((c) => c.url === "/api/projects/1/annotations");
    expect(submit?.body).toMatchObject({ image: 5, label_class: 11 });
  });

  it("skips with S and explains a spent budget", async () => {
    queue.push({ status: 200, body: reservation(6) });
    queue.push({ status: 409, body: { code: "budget_exhausted", detail: "No credits." } });
    renderPage();
    expect(await screen.findByText("img-6.png")).toBeInTheDocument();
    fireEvent.keyDown(window, { key: "s" });
    expect(await screen.findByText("The labeling budget is used up")).toBeInTheDocument();
    await waitFor(() => expect(calls.some((c) => c.url === "/api/projects/1/queue/skip")).toBe(true));
    expect(calls.find((c) => c.url === "/api/projects/1/queue/skip")?.body).toEqual({ image: 6 });
  });
});
