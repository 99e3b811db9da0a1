// @vitest-environment jsdom
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { createMemoryRouter, RouterProvider } from "react-router";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DataBrowserPage } from "./data-browser-page";

const project = {
  id: 1,
  name: "Cats",
  description: "",
  task_type: "classification",
  my_role: "admin",
  settings: { suspect_threshold: 0.8 },
  balance: { granted: 5, reserved: 0, spent: 0, available: 5 },
  label_classes: [],
  created_at: "2026-01-01T00:00:00Z",
};
const item = (id: number, suspicion: number | null, near_duplicate_of: number | null = null) => ({
  id,
  original_name: `img-${id}.png`,
  thumbnail_url: `/t/${id}`,
  status: "labeled",
  split: "train",
  source: "upload",
  priority: 0,
  created_at: "2026-01-01T00:00:00Z",
  label_class: 10,
  box_count: null,
  annotator: "ann",
  suspicion,
  suspicion_reason: "",
  model_disagrees: false,
  review_state: "",
  near_duplicate_of,
});

let dataUrls: string[];

beforeEach(() => {
  dataUrls = [];
  vi.stubGlobal(
    "fetch",
    vi.fn().mockImplementation(async (url: string) => {
      const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status });
      if (url === "/api/projects/1") return json(200, project);
      if (url === "/api/projects/1/classes") return json(200, [{ id: 10, name: "cat", color: "#ff0000", hotkey: "1" }]);
      if (url === "/api/projects/1/members") return json(200, []);
      if (url.startsWith("/api/projects/1/data?")) {
        dataUrls.push(url);
        return json(200, { results: [item(1, 0.9), item(2, 0.6, 1), item(3, null)], next_cursor: null });
      }
      return json(404, { detail: "Not found." });
    }),
  );
});

afterEach(() => vi.unstubAllGlobals());

function renderPage() {
  const router = createMemoryRouter([{ path: "/projects/:projectId/data", element: <DataBrowserPage /> }], {
    initialEntries: ["/projects/1/data"],
  });
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <RouterProvider router={router} />
    </QueryClientProvider>,
  );
}

describe("DataBrowserPage", () => {
  it("marks as suspect what the project's threshold calls suspect, not a fixed 0.5", async () => {
    renderPage();
    await waitFor(() => expect(screen.getByTestId("thumb-1")).toHaveClass("is-suspect"));
    expect(screen.getByTestId("thumb-2")).not.toHaveClass("is-suspect"); // 0.6 < 0.8
    expect(screen.getByTestId("thumb-3")).not.toHaveClass("is-suspect");
  });

  it("filters by near-duplicates and opens a near-duplicate's group", async () => {
    renderPage();
    expect(await screen.findByTestId("group-2")).toBeInTheDocument();
    expect(screen.queryByTestId("group-1")).toBeNull();
    fireEvent.click(screen.getByLabelText("Near-duplicates"));
    await waitFor(() => expect(dataUrls.at(-1)).toContain("near_duplicates=true"));
    fireEvent.click(await screen.findByTestId("group-2"));
    await waitFor(() => expect(dataUrls.at(-1)).toContain("duplicate_group=1"));
    expect(screen.getByTestId("group-filter")).toHaveTextContent("Near-duplicate group of image 1");
    fireEvent.click(screen.getByRole("button", { name: "Show all" }));
    await waitFor(() => expect(dataUrls.at(-1)).not.toContain("duplicate_group"));
  });
});
