// @vitest-environment jsdom
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import type { ReactNode } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { HealthPanel } from "./health-panel";
import { LearningCurvePanel } from "./learning-curve-panel";
import { ModelVersionsPanel } from "./model-versions-panel";

function withQueries(node: ReactNode) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return <QueryClientProvider client={client}>{node}</QueryClientProvider>;
}

let routes: Record<string, unknown>;

beforeEach(() => {
  routes = {};
  vi.stubGlobal("ResizeObserver", class { observe() {} unobserve() {} disconnect() {} });
  vi.stubGlobal(
    "fetch",
    vi.fn().mockImplementation(async (url: string) => {
      const path = url.split("?")[0]!;
      return path in routes
        ? new Response(JSON.stringify(routes[path]), { status: 200 })
        : new Response(JSON.stringify({ detail: "Not found." }), { status: 404 });
    }),
  );
});

afterEach(() => vi.unstubAllGlobals());

const version = (metrics: unknown) => ({
  id: 1, number: 1, model_name: "m", is_active: true, labels_seen: 97, credits_spent: 97, input_size: 64,
  metrics, created_at: "2026-01-01T00:00:00Z",
});

describe("ModelVersionsPanel", () => {
  it("prints counts as integers and shows the evaluation sample with its interval", async () => {
    routes["/api/projects/1/model-versions"] = [
      version({
        val: { images: 40, map50: 0.41, interval: [0.33, 0.5], per_class: { parcel: { ap50: 0.4, num_gt: 97 } } },
        test: { images: 38, map50: 0.38, per_class: { parcel: { ap50: 0.35, num_gt: 88 } } },
      }),
    ];
    render(withQueries(<ModelVersionsPanel projectId={1} />));
    const table = await screen.findByTestId("metrics-table");
    expect(table).toHaveTextContent("num GT");
    const parcel = within(table).getByRole("row", { name: /parcel/ });
    expect(parcel).toHaveTextContent("97");
    expect(parcel).not.toHaveTextContent("97.0");
    expect(within(table).getByRole("row", { name: /mAP@0.5/ })).toHaveTextContent("0.410 [0.330–0.500]");
    expect(screen.getByTestId("evaluation-sample")).toHaveTextContent("validation: 40 images · test: 38 images");
  });
});

describe("LearningCurvePanel", () => {
  it("explains a single point in a sentence instead of an empty plot", async () => {
    routes["/api/projects/1/learning-curve"] = {
      live: {
        id: 0, strategy: "live", metric: "map50", created_at: null,
        points: [{ credits_spent: 40, val: 0.31, val_images: 25, val_interval: [0.2, 0.42], test: 0.28, model_version: 1 }],
      },
      runs: [],
    };
    routes["/api/projects/1/credits"] = { granted: 100, reserved: 0, spent: 40, available: 60 };
    render(withQueries(<LearningCurvePanel projectId={1} taskType="detection" />));
    expect(await screen.findByTestId("learning-curve-note")).toHaveTextContent(
      "One model version so far: mAP@0.5 0.310 (95% interval 0.200–0.420) on validation, 0.280 on test after 40 credits.",
    );
  });

  it("draws no sentence once there are several points", async () => {
    routes["/api/projects/1/learning-curve"] = {
      live: { id: 0, strategy: "live", metric: "accuracy", created_at: null, points: [] },
      runs: [{ id: 3, strategy: "random", metric: "accuracy", created_at: "2026-01-01T00:00:00Z", points: [{ credits_spent: 10, val: 0.3 }, { credits_spent: 20, val: 0.4 }] }],
    };
    render(withQueries(<LearningCurvePanel projectId={1} taskType="classification" />));
    expect(await screen.findByTestId("learning-curve")).toHaveAttribute("data-points", "2");
    expect(screen.queryByTestId("learning-curve-note")).toBeNull();
  });
});

describe("HealthPanel", () => {
  it("gives the heatmap a colour scale and reads a cell's exact count", async () => {
    routes["/api/projects/1/health"] = {
      task: "detection", class_names: ["parcel"], class_counts: [7],
      heatmap: [[[0, 2], [5, 0]]], size_bins: [0, 0.5, 1], size_hist: [[3, 4]], recommendations: [],
    };
    routes["/api/projects/1/classes"] = [{ id: 1, name: "parcel", color: "#ff0000", hotkey: "1" }];
    render(withQueries(<HealthPanel projectId={1} />));
    const heatmap = await screen.findByTestId("heatmap");
    expect(within(heatmap).getByTestId("color-scale")).toHaveTextContent("05box centres per cell");
    const cells = heatmap.querySelectorAll(".heatmap-cell");
    fireEvent.mouseEnter(cells[2]!);
    expect(heatmap).toHaveTextContent("column 1 of 2, row 2 of 2: 5 box centres");
    expect(screen.getByTestId("class-balance")).toHaveTextContent("parcel7");
  });

  it("frames a white class in the box-size legend and writes every name in dark text", async () => {
    routes["/api/projects/1/health"] = {
      task: "detection", class_names: ["brown_box", "white_envelope"], class_counts: [2, 1],
      heatmap: [[[1]], [[1]]], size_bins: [0, 0.5, 1], size_hist: [[2, 0], [1, 0]], recommendations: [],
    };
    routes["/api/projects/1/classes"] = [
      { id: 1, name: "brown_box", color: "#9a6324", hotkey: "1" },
      { id: 2, name: "white_envelope", color: "#f8fafc", hotkey: "2" },
    ];
    render(withQueries(<HealthPanel projectId={1} />));
    const legend = await screen.findByTestId("box-sizes-legend");
    await waitFor(() => expect(legend.querySelectorAll("li")).toHaveLength(2));
    const [brown, white] = [...legend.querySelectorAll<HTMLElement>(".swatch-legend-swatch")];
    expect(brown).toHaveStyle({ backgroundColor: "#9a6324", borderColor: "#9a6324" });
    expect(white).toHaveStyle({ backgroundColor: "#f8fafc", borderColor: "#888a8b" });
    expect(legend).toHaveTextContent("brown_boxwhite_envelope");
    expect(legend.querySelector("li")!.style.color).toBe("");
  });
});
