// @vitest-environment jsdom
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen } from "@testing-library/react";
import type { ReactNode } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { CreditGauge } from "./credits-panel";
import { HealthPanel } from "./health-panel";
import { ModelVersionsPanel } from "./model-versions-panel";

function withQueries(node: ReactNode) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return <QueryClientProvider client={client}>{node}</QueryClientProvider>;
}

function stubFetch(status: number, body: unknown) {
  vi.stubGlobal(
    "fetch",
    vi.fn().mockImplementation(async () => new Response(body === null ? null : JSON.stringify(body), { status })),
  );
}

afterEach(() => vi.unstubAllGlobals());

describe("CreditGauge", () => {
  it("draws spent, reserved and available shares of the granted credits", () => {
    const { container } = render(<CreditGauge balance={{ granted: 200, spent: 50, reserved: 10, available: 140 }} />);
    expect(screen.getByTestId("gauge-granted")).toHaveTextContent("200");
    expect(screen.getByTestId("gauge-available")).toHaveTextContent("140");
    expect(container.querySelector(".gauge-seg.gauge-spent")).toHaveStyle({ width: "25%" });
    expect(container.querySelector(".gauge-seg.gauge-available")).toHaveStyle({ width: "70%" });
  });
});

describe("panels whose endpoint is missing", () => {
  it("say 'not available yet' on 404", async () => {
    stubFetch(404, { detail: "Not found.", code: "not_found" });
    render(withQueries(<ModelVersionsPanel projectId={1} />));
    expect(await screen.findByText("Model versions is not available yet.")).toBeInTheDocument();
  });

  it("show the error on other failures", async () => {
    stubFetch(500, { detail: "Boom" });
    render(withQueries(<HealthPanel projectId={1} />));
    expect(await screen.findByRole("alert")).toHaveTextContent("Boom");
  });

  it("render the health report when it answers", async () => {
    stubFetch(200, { class_names: ["pill"], class_counts: [4], recommendations: [{ code: "few_dark_images", message: "Add dark images." }] });
    render(withQueries(<HealthPanel projectId={1} />));
    expect(await screen.findByText("Add dark images.")).toBeInTheDocument();
    expect(screen.getByTestId("class-balance")).toHaveTextContent("pill");
  });
});
