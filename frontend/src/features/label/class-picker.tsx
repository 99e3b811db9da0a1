import type { LabelClass } from "../../api/types";
import { edgeColor } from "../../components/class-color";

export function ClassPicker({
  classes,
  selected,
  onPick,
  probs,
}: {
  classes: readonly LabelClass[];
  selected: number | null;
  onPick: (classId: number) => void;
  /** The model's class probabilities, keyed by class id. */
  probs?: Record<string, number> | null;
}) {
  return (
    <div className="class-picker" role="radiogroup" aria-label="Class">
      {classes.map((c, index) => {
        const p = probs?.[String(c.id)];
        return (
          <button
            key={c.id}
            type="button"
            role="radio"
            aria-checked={selected === c.id}
            className={selected === c.id ? "class-option is-selected" : "class-option"}
            style={{ ["--class-color" as string]: c.color, ["--class-edge" as string]: edgeColor(c.color ?? "#64748b") }}
            onClick={() => onPick(c.id)}
          >
            <kbd>{c.hotkey || (index < 9 ? String(index + 1) : "")}</kbd>
            <span className="class-swatch" aria-hidden="true" />
            <span className="class-name">{c.name}</span>
            {p !== undefined ? (
              <span className="class-prob" title="Model probability">
                <span className="class-prob-bar" style={{ width: `${Math.round(p * 100)}%` }} />
                <span className="class-prob-text">{(p * 100).toFixed(0)}%</span>
              </span>
            ) : null}
          </button>
        );
      })}
    </div>
  );
}
