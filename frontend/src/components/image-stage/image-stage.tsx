import {
  forwardRef,
  useCallback,
  useEffect,
  useImperativeHandle,
  useLayoutEffect,
  useRef,
  useState,
  type PointerEvent as ReactPointerEvent,
} from "react";
import {
  HANDLE_CURSORS,
  HANDLES,
  handlePosition,
  hitTest,
  isDrawable,
  moveRect,
  rectFromPoints,
  resizeRect,
  type Handle,
  type Point,
  type Rect,
} from "./geometry";
import { fitViewport, panBy, toImage, toScreen, wheelFactor, zoomAt, type Viewport } from "./viewport";
import { edgeColor, isLightColor, textColorOn } from "../class-color";

export interface StageBox extends Rect {
  id: string;
  color: string;
  label: string;
  /** Shown instead of `label` when the box is too narrow on screen for it. */
  shortLabel?: string;
  /** Drawn dashed and lighter: a pre-annotation not reviewed yet. */
  pending?: boolean;
  /** Drawn dotted: another person's label shown beside the image's own (a consensus second label). */
  dotted?: boolean;
}

const DOTTED = "2 4";
const DASHED = "6 4";
const dashOf = (box: StageBox) => (box.dotted ? DOTTED : box.pending ? DASHED : undefined);

export interface StageImage {
  id: number | string;
  file_url: string;
  width: number;
  height: number;
}

export interface ImageStageHandle {
  zoomIn: () => void;
  zoomOut: () => void;
  fit: () => void;
}

type Drag =
  | { kind: "pan"; last: Point }
  | { kind: "draw"; start: Point; rect: Rect }
  // `press` is where the pointer went down on screen; `moved` turns true past CLICK_SLOP_PX.
  | { kind: "move"; id: string; origin: Point; press: Point; moved: boolean; start: Rect; rect: Rect }
  | { kind: "resize"; id: string; handle: Handle; origin: Point; press: Point; moved: boolean; start: Rect; rect: Rect };

interface Props {
  image: StageImage;
  boxes: readonly StageBox[];
  /** "edit": draw, move and resize boxes; "view": zoom and pan only. */
  mode: "edit" | "view";
  selectedId?: string | null;
  /**
   * `byClick` is true for a click on a box (pressed and released without moving), false
   * when the box is grabbed to move or resize it: the page gives clicks more meaning.
   */
  onSelect?: (id: string | null, byClick: boolean) => void;
  onAdd?: (rect: Rect) => void;
  onUpdate?: (id: string, rect: Rect) => void;
  /** Colour of the box being drawn. */
  drawColor?: string;
  /** A CSS filter for the displayed image only (brightness/contrast); boxes and stored data are untouched. */
  imageFilter?: string;
}

const HANDLE_SCREEN_PX = 5;
/** A press that moves less than this (screen px) is a click, not a drag: hand tremor moves nothing. */
const CLICK_SLOP_PX = 3;
const LABEL_H = 18;
/** Approximate width of a 12 px label tag (no DOM measuring: it runs on every pointer move). */
const labelWidth = (text: string) => Math.ceil(text.length * 7.4) + 10;
/** The tag sits above the box (clear of the handles when selected), or inside it at the top edge. */
const labelTop = (boxTop: number, withHandles: boolean) => {
  const above = boxTop - LABEL_H - (withHandles ? HANDLE_SCREEN_PX + 1 : 0);
  return above >= 0 ? above : boxTop + (withHandles ? HANDLE_SCREEN_PX + 1 : 0);
};

/**
 * An image with a box overlay, zoom (wheel, centred on the pointer) and pan
 * (drag in view mode; middle/right button or Space+drag in edit mode). Boxes
 * come and go in image pixel coordinates; the SVG overlay is drawn in screen
 * coordinates so handles and labels keep their size at any zoom.
 */
export const ImageStage = forwardRef<ImageStageHandle, Props>(function ImageStage(
  { image, boxes, mode, selectedId = null, onSelect, onAdd, onUpdate, drawColor = "#2563eb", imageFilter },
  ref,
) {
  const stageRef = useRef<HTMLDivElement>(null);
  const [size, setSize] = useState({ width: 0, height: 0 });
  const [viewport, setViewport] = useState<Viewport>({ scale: 1, tx: 0, ty: 0 });
  const [drag, setDrag] = useState<Drag | null>(null);
  const [hoverCursor, setHoverCursor] = useState<string | null>(null);
  const [spaceDown, setSpaceDown] = useState(false);
  const [loaded, setLoaded] = useState(false);
  const bounds = { width: image.width, height: image.height };

  useLayoutEffect(() => {
    const el = stageRef.current;
    if (!el) return;
    const measure = () => setSize({ width: el.clientWidth, height: el.clientHeight });
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  // Fit each new image (and on resize until the user zooms or pans).
  const userMoved = useRef(false);
  useLayoutEffect(() => {
    userMoved.current = false;
    setLoaded(false);
  }, [image.id]);
  useLayoutEffect(() => {
    if (!userMoved.current) setViewport(fitViewport(bounds, size));
    // bounds and size are new objects each render: depend on the numbers inside them.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [image.id, image.width, image.height, size.width, size.height]);

  const zoomBy = useCallback(
    (factor: number, anchor?: Point) => {
      userMoved.current = true;
      setViewport((v) => zoomAt(v, factor, anchor ?? { x: size.width / 2, y: size.height / 2 }));
    },
    [size.width, size.height],
  );

  useImperativeHandle(
    ref,
    () => ({
      zoomIn: () => zoomBy(1.25),
      zoomOut: () => zoomBy(0.8),
      fit: () => {
        userMoved.current = false;
        setViewport(fitViewport(bounds, size));
      },
    }),
    // bounds and size are new objects each render: depend on the numbers inside them.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [zoomBy, image.width, image.height, size.width, size.height],
  );

  // The wheel listener must be non-passive to stop the page from scrolling.
  useEffect(() => {
    const el = stageRef.current;
    if (!el) return;
    const onWheel = (event: WheelEvent) => {
      event.preventDefault();
      const rect = el.getBoundingClientRect();
      zoomBy(wheelFactor(event.deltaY, event.deltaMode), { x: event.clientX - rect.left, y: event.clientY - rect.top });
    };
    el.addEventListener("wheel", onWheel, { passive: false });
    return () => el.removeEventListener("wheel", onWheel);
  }, [zoomBy]);

  useEffect(() => {
    const down = (e: KeyboardEvent) => {
      if (e.code === "Space" && !(e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement)) {
        setSpaceDown(true);
        if (e.target === document.body || stageRef.current?.contains(e.target as Node)) e.preventDefault();
      }
    };
    const up = (e: KeyboardEvent) => {
      if (e.code === "Space") setSpaceDown(false);
    };
    window.addEventListener("keydown", down);
    window.addEventListener("keyup", up);
    return () => {
      window.removeEventListener("keydown", down);
      window.removeEventListener("keyup", up);
    };
  }, []);

  function screenPoint(event: ReactPointerEvent): Point {
    const rect = stageRef.current!.getBoundingClientRect();
    return { x: event.clientX - rect.left, y: event.clientY - rect.top };
  }

  function onPointerDown(event: ReactPointerEvent<HTMLDivElement>) {
    const screen = screenPoint(event);
    (event.currentTarget as HTMLElement).setPointerCapture?.(event.pointerId);
    const wantsPan = mode === "view" || event.button === 1 || event.button === 2 || spaceDown;
    if (wantsPan) {
      setDrag({ kind: "pan", last: screen });
      return;
    }
    if (event.button !== 0) return;
    const p = toImage(viewport, screen);
    const hit = hitTest(boxes, p, selectedId, (HANDLE_SCREEN_PX + 3) / viewport.scale);
    if (hit) {
      const box = boxes.find((b) => b.id === hit.id)!;
      const start: Rect = { x: box.x, y: box.y, w: box.w, h: box.h };
      onSelect?.(hit.id, false);
      const grab = { id: hit.id, origin: p, press: screen, moved: false, start, rect: start };
      if (hit.part === "body") setDrag({ kind: "move", ...grab });
      else setDrag({ kind: "resize", handle: hit.part, ...grab });
    } else {
      onSelect?.(null, false);
      const start = { x: Math.min(Math.max(p.x, 0), bounds.width), y: Math.min(Math.max(p.y, 0), bounds.height) };
      setDrag({ kind: "draw", start, rect: { ...start, w: 0, h: 0 } });
    }
  }

  function onPointerMove(event: ReactPointerEvent<HTMLDivElement>) {
    const screen = screenPoint(event);
    if (!drag) {
      if (mode === "edit" && !spaceDown) {
        const hit = hitTest(boxes, toImage(viewport, screen), selectedId, (HANDLE_SCREEN_PX + 3) / viewport.scale);
        setHoverCursor(hit ? (hit.part === "body" ? "move" : HANDLE_CURSORS[hit.part]) : null);
      }
      return;
    }
    if (drag.kind === "pan") {
      userMoved.current = true;
      setViewport((v) => panBy(v, screen.x - drag.last.x, screen.y - drag.last.y));
      setDrag({ ...drag, last: screen });
      return;
    }
    const p = toImage(viewport, screen);
    if (drag.kind === "draw") {
      setDrag({ ...drag, rect: rectFromPoints(drag.start, p, bounds) });
      return;
    }
    const moved =
      drag.moved || Math.max(Math.abs(screen.x - drag.press.x), Math.abs(screen.y - drag.press.y)) >= CLICK_SLOP_PX;
    if (!moved) return;
    if (drag.kind === "move") {
      setDrag({ ...drag, moved, rect: moveRect(drag.start, p.x - drag.origin.x, p.y - drag.origin.y, bounds) });
    } else {
      setDrag({
        ...drag,
        moved,
        rect: resizeRect(drag.start, drag.handle, p.x - drag.origin.x, p.y - drag.origin.y, bounds, 2),
      });
    }
  }

  function onPointerUp() {
    if (!drag) return;
    if (drag.kind === "draw" && isDrawable(drag.rect)) onAdd?.(drag.rect);
    if ((drag.kind === "move" || drag.kind === "resize") && !drag.moved) onSelect?.(drag.id, true);
    else if (drag.kind === "move" || drag.kind === "resize") {
      const { x, y, w, h } = drag.rect;
      const s = drag.start;
      if (x !== s.x || y !== s.y || w !== s.w || h !== s.h) onUpdate?.(drag.id, drag.rect);
    }
    setDrag(null);
  }

  const liveRect = (box: StageBox): Rect =>
    drag && (drag.kind === "move" || drag.kind === "resize") && drag.id === box.id ? drag.rect : box;

  const cursor =
    drag?.kind === "pan" || spaceDown || mode === "view"
      ? drag?.kind === "pan"
        ? "grabbing"
        : "grab"
      : drag?.kind === "move"
        ? "move"
        : drag?.kind === "resize"
          ? HANDLE_CURSORS[drag.handle]
          : (hoverCursor ?? "crosshair");

  const topLeft = toScreen(viewport, { x: 0, y: 0 });

  return (
    <div
      ref={stageRef}
      className="stage"
      style={{ cursor }}
      data-testid="image-stage"
      data-scale={viewport.scale.toFixed(4)}
      onPointerDown={onPointerDown}
      onPointerMove={onPointerMove}
      onPointerUp={onPointerUp}
      onPointerCancel={() => setDrag(null)}
      onContextMenu={(e) => e.preventDefault()}
    >
      <img
        key={image.id}
        src={image.file_url}
        alt=""
        className="stage-image"
        draggable={false}
        onLoad={() => setLoaded(true)}
        style={{
          width: image.width,
          height: image.height,
          transform: `translate(${topLeft.x}px, ${topLeft.y}px) scale(${viewport.scale})`,
          opacity: loaded ? 1 : 0.35,
          filter: imageFilter,
        }}
      />
      <svg className="stage-overlay" width={size.width} height={size.height} aria-hidden="true">
        {boxes.map((box) => {
          const r = liveRect(box);
          const a = toScreen(viewport, r);
          const w = r.w * viewport.scale;
          const h = r.h * viewport.scale;
          const selected = box.id === selectedId;
          const text = box.shortLabel && labelWidth(box.label) > w + 12 ? box.shortLabel : box.label;
          return (
            <g key={box.id} data-box-id={box.id} className={["box", box.pending ? "box-pending" : "", box.dotted ? "box-dotted" : ""].filter(Boolean).join(" ")}>
              {isLightColor(box.color) ? (
                // A dark halo under a light box's edge (white_envelope on a pale photo).
                <rect
                  x={a.x}
                  y={a.y}
                  width={w}
                  height={h}
                  fill="none"
                  stroke={edgeColor(box.color)}
                  strokeWidth={selected ? 4.5 : 4}
                  strokeDasharray={dashOf(box)}
                  className="box-halo"
                />
              ) : null}
              <rect
                x={a.x}
                y={a.y}
                width={w}
                height={h}
                fill={box.color}
                fillOpacity={selected ? 0.18 : 0.08}
                stroke={box.color}
                strokeWidth={selected ? 2.5 : 2}
                strokeDasharray={dashOf(box)}
              />
              {text ? (
                <g transform={`translate(${a.x}, ${labelTop(a.y, selected && mode === "edit")})`}>
                  <rect
                    width={labelWidth(text)}
                    height={LABEL_H}
                    rx={3}
                    fill={box.color}
                    fillOpacity={box.pending ? 0.75 : 0.95}
                    stroke={isLightColor(box.color) ? edgeColor(box.color) : undefined}
                  />
                  <text x={5} y={LABEL_H - 5} className="box-label" fill={textColorOn(box.color)}>
                    {text}
                  </text>
                </g>
              ) : null}
              {selected && mode === "edit"
                ? HANDLES.map((handle) => {
                    const hp = toScreen(viewport, handlePosition(r, handle));
                    return (
                      <rect
                        key={handle}
                        x={hp.x - HANDLE_SCREEN_PX}
                        y={hp.y - HANDLE_SCREEN_PX}
                        width={HANDLE_SCREEN_PX * 2}
                        height={HANDLE_SCREEN_PX * 2}
                        className="box-handle"
                        stroke={edgeColor(box.color)}
                      />
                    );
                  })
                : null}
            </g>
          );
        })}
        {drag?.kind === "draw" ? (
          <rect
            x={toScreen(viewport, drag.rect).x}
            y={toScreen(viewport, drag.rect).y}
            width={drag.rect.w * viewport.scale}
            height={drag.rect.h * viewport.scale}
            fill={drawColor}
            fillOpacity={0.12}
            stroke={drawColor}
            strokeWidth={2}
          />
        ) : null}
      </svg>
      <div className="stage-zoom" onPointerDown={(e) => e.stopPropagation()}>
        <button type="button" className="btn btn-small" onClick={() => zoomBy(1.25)} aria-label="Zoom in">
          +
        </button>
        <button type="button" className="btn btn-small" onClick={() => zoomBy(0.8)} aria-label="Zoom out">
          −
        </button>
        <button
          type="button"
          className="btn btn-small"
          onClick={() => {
            userMoved.current = false;
            setViewport(fitViewport(bounds, size));
          }}
        >
          Fit
        </button>
        <span className="stage-zoom-level">{Math.round(viewport.scale * 100)}%</span>
      </div>
    </div>
  );
});
