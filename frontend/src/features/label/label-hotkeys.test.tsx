// @vitest-environment jsdom
/**
 * The class-key rule on the labeling page (detection): keys 1–9 set the class for
 * new boxes and relabel an existing box only when the user clicked it; every
 * class change is undone by Z; unsaved work survives a reload.
 */
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { createMemoryRouter, RouterProvider } from "react-router";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { draftKey } from "./drafts";
import { LabelPage } from "./label-page";

const project = {
  id: 2,
  name: "Parcels",
  description: "",
  task_type: "detection",
  my_role: "annotator",
  settings: {},
  balance: { granted: 5, reserved: 0, spent: 0, available: 5 },
  label_classes: [],
  created_at: "2026-01-01T00:00:00Z",
};
const classes = [
  { id: 20, name: "box", color: "#ff0000", hotkey: "1" },
  { id: 21, name: "tube", color: "#0000ff", hotkey: "2" },
  { id: 22, name: "bag", color: "#00aa00", hotkey: "3" },
];
const reservation = {
  reservation: { id: 9, expires_at: "2026-01-01T00:10:00Z", created_at: "2026-01-01T00:00:00Z" },
  image: {
    id: 40, project: 2, original_name: "night.png", width: 400, height: 300, sha256: "x",
    file_url: "/f/40", thumbnail_url: "/t/40", created_at: "2026-01-01T00:00:00Z",
  },
  prediction: {
    model_version: 1, probs: null, score: 0.5,
    boxes: [{ x: 300, y: 200, w: 50, h: 40, label_class: 20, score: 0.9 }],
  },
  reason: { strategy: "least_confident", score: 0.5 },
  balance: { granted: 5, reserved: 1, spent: 0, available: 4 },
};

let submitted: unknown[];

beforeEach(() => {
  submitted = [];
  localStorage.clear();
  vi.stubGlobal("ResizeObserver", class { observe() {} disconnect() {} });
  vi.stubGlobal(
    "fetch",
    vi.fn().mockImplementation(async (url: string, init: RequestInit) => {
      const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status });
      if (url === "/api/projects/2") return json(200, project);
      if (url === "/api/projects/2/classes") return json(200, classes);
      if (url === "/api/projects/2/stats") return json(200, { images_by_status: {}, labeled_today_by_me: 0 });
      if (url.startsWith("/api/projects/2/images")) return json(200, { count: 0, results: [] });
      if (url === "/api/projects/2/queue/next") {
        return submitted.length ? json(409, { code: "pool_empty", detail: "Empty." }) : json(200, reservation);
      }
      if (url === "/api/projects/2/annotations") {
        submitted.push(JSON.parse(init.body as string));
        return json(201, {});
      }
      return json(404, { detail: "Not found." });
    }),
  );
});

afterEach(() => vi.unstubAllGlobals());

function renderPage() {
  const router = createMemoryRouter([{ path: "/projects/:projectId/label", element: <LabelPage /> }], {
    initialEntries: ["/projects/2/label"],
  });
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <RouterProvider router={router} />
    </QueryClientProvider>,
  );
}

/** A drag on the stage; with no layout in jsdom the stage is at (0, 0) with scale 1, so screen = image px. */
function drag(from: [number, number], to: [number, number]) {
  const stage = screen.getByTestId("image-stage");
  fireEvent.pointerDown(stage, { button: 0, clientX: from[0], clientY: from[1], pointerId: 1 });
  fireEvent.pointerMove(stage, { clientX: (from[0] + to[0]) / 2, clientY: (from[1] + to[1]) / 2, pointerId: 1 });
  fireEvent.pointerMove(stage, { clientX: to[0], clientY: to[1], pointerId: 1 });
  fireEvent.pointerUp(stage, { clientX: to[0], clientY: to[1], pointerId: 1 });
}

function click(at: [number, number]) {
  const stage = screen.getByTestId("image-stage");
  fireEvent.pointerDown(stage, { button: 0, clientX: at[0], clientY: at[1], pointerId: 1 });
  fireEvent.pointerUp(stage, { clientX: at[0], clientY: at[1], pointerId: 1 });
}

const rowNames = () =>
  within(screen.getByTestId("box-list"))
    .getAllByRole("button", { name: /^Box \d+:/ })
    .map((b) => b.getAttribute("aria-label"));

describe("LabelPage (detection): the class-key rule", () => {
  it("a key right after drawing sets the class of the next box, not the one just drawn", async () => {
    renderPage();
    expect(await screen.findByText("night.png")).toBeInTheDocument();
    drag([20, 20], [120, 100]);
    expect(rowNames()).toEqual(["Box 1: box", "Box 2: box"]);
    fireEvent.keyDown(window, { key: "2" });
    expect(rowNames()).toEqual(["Box 1: box", "Box 2: box"]);
    expect(screen.getByTestId("class-target")).toHaveTextContent("Class for new boxes");
    expect(screen.getByRole("radio", { name: /tube/ })).toHaveAttribute("aria-checked", "true");
    drag([150, 20], [250, 100]);
    expect(rowNames()).toEqual(["Box 1: box", "Box 2: box", "Box 3: tube"]);
    // Z takes back the second box, then the class change for new boxes.
    fireEvent.keyDown(window, { key: "z" });
    expect(rowNames()).toHaveLength(2);
    fireEvent.keyDown(window, { key: "z" });
    expect(screen.getByRole("radio", { name: /box/ })).toHaveAttribute("aria-checked", "true");
  });

  it("relabels a box the user clicked, on the image or in the list, and Z undoes it", async () => {
    renderPage();
    expect(await screen.findByText("night.png")).toBeInTheDocument();
    click([320, 220]); // inside the model's box at (300, 200, 50×40)
    expect(screen.getByTestId("class-target")).toHaveTextContent("Class of box 1");
    fireEvent.keyDown(window, { key: "3" });
    expect(rowNames()).toEqual(["Box 1: bag"]);
    fireEvent.keyDown(window, { key: "z" });
    expect(rowNames()).toEqual(["Box 1: box"]);
    fireEvent.keyDown(window, { key: "Escape" });
    expect(screen.getByTestId("class-target")).toHaveTextContent("Class for new boxes");
    fireEvent.keyDown(window, { key: "2" });
    expect(rowNames()).toEqual(["Box 1: box"]);

    fireEvent.click(screen.getByRole("button", { name: "Box 1: box" }));
    fireEvent.keyDown(window, { key: "3" });
    expect(rowNames()).toEqual(["Box 1: bag"]);
    fireEvent.keyDown(window, { key: "Enter" });
    await waitFor(() => expect(submitted).toHaveLength(1));
    expect(submitted[0]).toMatchObject({ image: 40, boxes: [{ x: 300, y: 200, w: 50, h: 40, label_class: 22 }] });
  });

  it("hides and deletes boxes from the list; the hidden one is still submitted", async () => {
    renderPage();
    expect(await screen.findByText("night.png")).toBeInTheDocument();
    drag([20, 20], [120, 100]);
    fireEvent.click(screen.getByRole("button", { name: "Accept box 1" }));
    expect(document.querySelectorAll("g.box")).toHaveLength(2);
    fireEvent.click(screen.getByRole("button", { name: "Hide box 1" }));
    expect(document.querySelectorAll("g.box")).toHaveLength(1);
    fireEvent.click(screen.getByRole("button", { name: "Delete box 2" }));
    expect(rowNames()).toEqual(["Box 1: box"]);
    fireEvent.keyDown(window, { key: "Enter" });
    await waitFor(() => expect(submitted).toHaveLength(1));
    expect(submitted[0]).toMatchObject({ boxes: [{ x: 300, y: 200, w: 50, h: 40, label_class: 20 }] });
  });

  it("Enter submits even when a mouse click left focus on a sidebar button", async () => {
    renderPage();
    expect(await screen.findByText("night.png")).toBeInTheDocument();
    drag([20, 20], [120, 100]);
    const tube = screen.getByRole("radio", { name: /tube/ });
    fireEvent.click(tube);
    tube.focus();
    const hide = screen.getByRole("button", { name: "Hide box 2" });
    fireEvent.click(hide);
    hide.focus();
    fireEvent.keyDown(hide, { key: "Enter" });
    await waitFor(() => expect(submitted).toHaveLength(1));
    expect(submitted[0]).toMatchObject({ boxes: [{ x: 20, y: 20, w: 100, h: 80, label_class: 20 }] });
  });

  it("keeps an unsaved drawing across a reload and forgets it after submit", async () => {
    const first = renderPage();
    expect(await screen.findByText("night.png")).toBeInTheDocument();
    fireEvent.keyDown(window, { key: "2" });
    drag([20, 20], [120, 100]);
    expect(localStorage.getItem(draftKey(2, 40))).not.toBeNull();
    first.unmount();

    renderPage();
    expect(await screen.findByText("Restored your unsaved work on this image.")).toBeInTheDocument();
    expect(rowNames()).toEqual(["Box 1: box", "Box 2: tube"]);
    expect(screen.getByRole("radio", { name: /tube/ })).toHaveAttribute("aria-checked", "true");
    fireEvent.keyDown(window, { key: "Enter" });
    await waitFor(() => expect(submitted).toHaveLength(1));
    expect(submitted[0]).toMatchObject({ boxes: [{ x: 20, y: 20, w: 100, h: 80, label_class: 21 }] });
    await waitFor(() => expect(localStorage.getItem(draftKey(2, 40))).toBeNull());
  });

  it("carries the class for new boxes over to the next image, which writes no draft until edited", async () => {
    const next = {
      ...reservation,
      reservation: { ...reservation.reservation, id: 10 },
      image: { ...reservation.image, id: 41, original_name: "day.png", file_url: "/f/41" },
    };
    const stubbed = vi.mocked(fetch);
    const answer = stubbed.getMockImplementation()!;
    stubbed.mockImplementation(async (url, init) =>
      url === "/api/projects/2/queue/next" && submitted.length === 1 ? new Response(JSON.stringify(next)) : answer(url, init),
    );
    renderPage();
    expect(await screen.findByText("night.png")).toBeInTheDocument();
    fireEvent.keyDown(window, { key: "2" });
    fireEvent.keyDown(window, { key: "Enter" });
    expect(await screen.findByText("day.png")).toBeInTheDocument();
    expect(screen.getByRole("radio", { name: /tube/ })).toHaveAttribute("aria-checked", "true");
    expect(rowNames()).toEqual(["Box 1: box"]);
    expect(screen.queryByText("Restored your unsaved work on this image.")).toBeNull();
    expect(localStorage.getItem(draftKey(2, 41))).toBeNull();
    drag([20, 20], [120, 100]);
    expect(rowNames()).toEqual(["Box 1: box", "Box 2: tube"]);
    expect(localStorage.getItem(draftKey(2, 41))).not.toBeNull();
  });

  it("brightness and contrast change the displayed image only", async () => {
    renderPage();
    expect(await screen.findByText("night.png")).toBeInTheDocument();
    const img = screen.getByTestId("image-stage").querySelector("img")!;
    expect(img.style.filter).toBe("");
    fireEvent.change(screen.getByLabelText("Brightness"), { target: { value: "200" } });
    fireEvent.change(screen.getByLabelText("Contrast"), { target: { value: "150" } });
    expect(img.style.filter).toBe("brightness(200%) contrast(150%)");
    expect(img.getAttribute("src")).toBe("/f/40");
    fireEvent.click(screen.getByRole("button", { name: "Reset display" }));
    expect(img.style.filter).toBe("");
  });
});
