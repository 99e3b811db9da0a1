// @vitest-environment jsdom
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, waitFor } from "@testing-library/react";
import { MemoryRouter } from "react-router";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ImportJob } from "../../api/types";
import { ImportExportPanel, ImportStatus } from "./import-export-panel";
import { HealthPanel } from "./panels/health-panel";

// The import-job contract (/work/briefs/contracts.md): POST /import answers 202 with a job,
// GET /imports/{id} reports it until it succeeds or fails.
const job = (over: Partial<ImportJob>): ImportJob => ({
  id: 9, status: "queued", phase: "", done: 0, total: null, checked: 0, created: 0, duplicates: 0, labels: 0,
  classes_created: 0, class_mapping: {}, errors: [], detail: null, archive_name: "dataset.zip",
  created_at: "2026-11-28T12:00:00Z", started_at: null, finished_at: null, ...over,
});

let states: ImportJob[];
let polled: string[];

beforeEach(() => {
  polled = [];
  vi.stubGlobal(
    "fetch",
    vi.fn().mockImplementation(async (url: string) => {
      polled.push(url);
      const next = states.length > 1 ? states.shift()! : states[0]!;
      return new Response(JSON.stringify(next), { status: 200 });
    }),
  );
});

afterEach(() => vi.unstubAllGlobals());

function renderStatus(answer: ImportJob) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter>
        <ImportStatus projectId={4} answer={answer} />
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

describe("import status", () => {
  it("polls the job until it succeeds, showing checked then done of total (issue 15 item 8)", async () => {
    states = [
      job({ status: "running", phase: "checking", checked: 6, total: 12 }),
      job({ status: "running", phase: "importing", checked: 12, done: 3, total: 12, created: 3 }),
      job({ status: "succeeded", done: 12, total: 12, created: 10, duplicates: 2, labels: 15 }),
    ];
    renderStatus(job({ status: "queued" }));
    expect(screen.getByText("Queued: waiting for a worker…")).toBeTruthy();
    expect(await screen.findByText("Checking: 6 of 12 images", {}, { timeout: 4000 })).toBeTruthy();
    expect(screen.getByRole("progressbar").getAttribute("aria-valuenow")).toBe("50");
    expect(await screen.findByText("Importing: 3 of 12 images", {}, { timeout: 4000 })).toBeTruthy();
    expect(screen.getByRole("progressbar").getAttribute("aria-valuenow")).toBe("25");
    expect(await screen.findByText("Import finished.", {}, { timeout: 4000 })).toBeTruthy();
    expect(screen.getByText("10 new images · 2 duplicates · 15 labels")).toBeTruthy();
    const calls = polled.length;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(polled.length).toBe(calls); // no polling once finished
    expect(polled.every((url) => url === "/api/projects/4/imports/9")).toBe(true);
  }, 12000);

  it("shows the server's reason and each problem of a failed job", async () => {
    states = [job({ status: "failed", done: 2, total: 5, detail: "annotations.json is not JSON.", errors: [{ file: "b.jpg", annotation: 4, detail: "box outside the image" }] })];
    renderStatus(job({ status: "running", phase: "importing", done: 1, total: 5 }));
    expect(await screen.findByText("annotations.json is not JSON.", {}, { timeout: 4000 })).toBeTruthy();
    expect(screen.getByText(/box outside the image/).textContent).toContain("(annotation 4)");
  }, 8000);

  it("refreshes the Health panel once the import finishes, without a reload", async () => {
    // Health answers 0 labeled images until the import has stored its 10; the job is polled from queued.
    let imported = false;
    vi.stubGlobal(
      "fetch",
      vi.fn().mockImplementation(async (url: string) => {
        if (url === "/api/projects/4/imports/9") {
          imported = true;
          return new Response(JSON.stringify(job({ status: "succeeded", done: 10, total: 10, created: 10, labels: 10 })));
        }
        if (url === "/api/projects/4/health") {
          const labeled = imported ? 10 : 0;
          return new Response(JSON.stringify({ task: "classification", num_images: labeled, class_names: ["cat"], class_counts: [labeled], recommendations: [] }));
        }
        return new Response(JSON.stringify([]));
      }),
    );
    // The app's own cache setting: answers stay fresh for 5 s, so only an invalidation refetches.
    const client = new QueryClient({ defaultOptions: { queries: { retry: false, staleTime: 5_000 } } });
    render(
      <QueryClientProvider client={client}>
        <MemoryRouter>
          <HealthPanel projectId={4} />
          <ImportStatus projectId={4} answer={job({ status: "queued" })} />
        </MemoryRouter>
      </QueryClientProvider>,
    );
    const labeledImages = async () => (await screen.findByText("Labeled images")).nextElementSibling?.textContent;
    expect(await labeledImages()).toBe("0");
    expect(await screen.findByText("Import finished.", {}, { timeout: 4000 })).toBeTruthy();
    await waitFor(async () => expect(await labeledImages()).toBe("10"));
  }, 8000);

  it("refreshes the counts when the import answer is already finished (no poll follows)", async () => {
    const health = vi.fn();
    vi.stubGlobal(
      "fetch",
      vi.fn().mockImplementation(async (url: string) => {
        if (url !== "/api/projects/4/health") return new Response(JSON.stringify([]));
        health();
        return new Response(JSON.stringify({ task: "classification", num_images: 3, class_names: [], class_counts: [], recommendations: [] }));
      }),
    );
    const client = new QueryClient({ defaultOptions: { queries: { retry: false, staleTime: 5_000 } } });
    const { rerender } = render(
      <QueryClientProvider client={client}>
        <MemoryRouter>
          <HealthPanel projectId={4} />
        </MemoryRouter>
      </QueryClientProvider>,
    );
    await screen.findByText("Labeled images");
    expect(health).toHaveBeenCalledTimes(1);
    rerender(
      <QueryClientProvider client={client}>
        <MemoryRouter>
          <HealthPanel projectId={4} />
          <ImportStatus projectId={4} answer={job({ status: "succeeded", done: 3, total: 3, created: 3 })} />
        </MemoryRouter>
      </QueryClientProvider>,
    );
    await waitFor(() => expect(health).toHaveBeenCalledTimes(2));
  });

  it("offers the import formats of the project's task type (issue 15 item 8)", () => {
    const client = new QueryClient();
    const { unmount } = render(
      <QueryClientProvider client={client}>
        <MemoryRouter>
          <ImportExportPanel projectId={4} taskType="detection" />
        </MemoryRouter>
      </QueryClientProvider>,
    );
    const formats = () => screen.getByRole("list", { name: "Import formats" }).textContent ?? "";
    expect(formats()).toContain("COCO:");
    expect(formats()).toContain("YOLO: data.yaml (or classes.txt)");
    expect(formats()).toContain("CSV: one CSV file with the columns file_name, label_class, x, y, w, h");
    expect(formats()).not.toContain("Folders");
    unmount();
    render(
      <QueryClientProvider client={client}>
        <MemoryRouter>
          <ImportExportPanel projectId={4} taskType="classification" />
        </MemoryRouter>
      </QueryClientProvider>,
    );
    expect(formats()).toContain("Folders: one folder per class");
    expect(formats()).toContain("CSV: one CSV file with the columns file_name and label_class");
    expect(formats()).not.toContain("YOLO");
  });
});
