import type { LabelClass } from "../../api/types";
import { edgeColor } from "../../components/class-color";
import type { EditorBox } from "./editor-state";

function EyeIcon({ crossed }: { crossed: boolean }) {
  return (
    <svg width="16" height="16" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2" aria-hidden="true">
      <path d="M1 12s4-7 11-7 11 7 11 7-4 7-11 7S1 12 1 12z" />
      <circle cx="12" cy="12" r="3" />
      {crossed ? <line x1="3" y1="3" x2="21" y2="21" /> : null}
    </svg>
  );
}

/**
 * Every box on the image, one row each: class, size in image pixels, the model's
 * confidence (or "drawn"). A click on a row picks the box (class keys then relabel
 * it); hide takes it off the display only, delete removes it (undoable).
 */
export function BoxList({
  boxes,
  classById,
  selectedId,
  picked,
  hiddenIds,
  onPick,
  onToggleHidden,
  onDelete,
  onAccept,
}: {
  boxes: readonly EditorBox[];
  classById: ReadonlyMap<number, LabelClass>;
  selectedId: string | null;
  picked: boolean;
  hiddenIds: readonly string[];
  onPick: (id: string) => void;
  onToggleHidden: (id: string) => void;
  onDelete: (id: string) => void;
  onAccept: (id: string) => void;
}) {
  if (boxes.length === 0) return <p className="muted small">No boxes yet: drag on the image to draw one.</p>;
  return (
    <ol className="box-list" data-testid="box-list" aria-label="Boxes on this image">
      {boxes.map((box, index) => {
        const c = classById.get(box.labelClass);
        const name = c?.name ?? `class ${box.labelClass}`;
        const hidden = hiddenIds.includes(box.id);
        const selected = box.id === selectedId;
        const number = index + 1;
        return (
          <li
            key={box.id}
            data-box-id={box.id}
            className={["box-row", box.pending ? "is-pending" : "", selected ? "is-selected" : "", selected && picked ? "is-picked" : "", hidden ? "is-hidden" : ""]
              .filter(Boolean)
              .join(" ")}
            style={{ ["--class-color" as string]: c?.color ?? "#64748b", ["--class-edge" as string]: edgeColor(c?.color ?? "#64748b") }}
          >
            <button
              type="button"
              className="box-row-main"
              aria-pressed={selected && picked}
              aria-label={`Box ${number}: ${name}`}
              onClick={() => onPick(box.id)}
            >
              <span className="box-row-number">{number}</span>
              <span className="class-swatch" aria-hidden="true" />
              <span className="box-row-name">{name}</span>
              {/* On a line of its own under the name: beside it, a 320 px sidebar cut names to "bro…". */}
              <span className="box-row-meta">
                <span className="box-row-size" title="Width × height in image pixels">
                  {Math.round(box.w)}×{Math.round(box.h)}
                </span>
                {" · "}
                <span className="box-row-score" title={box.score !== null ? "Model confidence" : "Drawn by hand"}>
                  {box.score !== null ? `${Math.round(box.score * 100)}%` : "drawn"}
                </span>
              </span>
            </button>
            {box.pending ? (
              <button
                type="button"
                className="btn btn-small btn-icon btn-accept"
                onClick={() => onAccept(box.id)}
                aria-label={`Accept box ${number}`}
                title="Accept this suggestion"
              >
                <svg width="16" height="16" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2.5" aria-hidden="true">
                  <polyline points="4 12 10 18 20 6" />
                </svg>
              </button>
            ) : null}
            <button
              type="button"
              className="btn btn-small btn-ghost btn-icon"
              onClick={() => onToggleHidden(box.id)}
              title={hidden ? "Show on the image" : "Hide from the image (still submitted)"}
              aria-label={`${hidden ? "Show" : "Hide"} box ${number}`}
              aria-pressed={hidden}
            >
              <EyeIcon crossed={hidden} />
            </button>
            <button
              type="button"
              className="btn btn-small btn-ghost btn-icon btn-danger-text"
              onClick={() => onDelete(box.id)}
              title="Delete"
              aria-label={`Delete box ${number}`}
            >
              ×
            </button>
          </li>
        );
      })}
    </ol>
  );
}
