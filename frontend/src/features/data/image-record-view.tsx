import { useEffect, useState, type ReactNode } from "react";
import type { Box, ImageRecord, LabelClass, TaskType } from "../../api/types";
import { ImageStage, type StageBox } from "../../components/image-stage/image-stage";
import { ClassPicker } from "../label";
import type { LabelInput } from "./api";
import { consensusLine, historyLine, labelSummary, topClass } from "./label-text";

/** Detection only: the second, blind label's boxes of a consensus pair (classification carries a class instead). */
export function secondLabelBoxes(record: ImageRecord): Box[] | null {
  const consensus = record.consensus;
  return consensus && consensus.label_class == null ? consensus.boxes : null;
}

export function stageBoxes(
  record: ImageRecord,
  classById: ReadonlyMap<number, LabelClass>,
  draft: Box[] | null,
  showSecond = false,
): StageBox[] {
  const label = (draft ?? record.label?.boxes ?? []).map((b, i) => {
    const c = classById.get(b.label_class);
    return { id: `l${i}`, x: b.x, y: b.y, w: b.w, h: b.h, color: c?.color ?? "#2563eb", label: c?.name ?? "" };
  });
  const predicted = (record.prediction?.boxes ?? [])
    .filter((b) => b.score >= 0.3)
    .map((b, i) => {
      const c = classById.get(b.label_class);
      return {
        id: `p${i}`, x: b.x, y: b.y, w: b.w, h: b.h, color: c?.color ?? "#64748b", pending: true,
        label: `model: ${c?.name ?? ""} ${(b.score * 100).toFixed(0)}%`, shortLabel: `${(b.score * 100).toFixed(0)}%`,
      };
    });
  const second = (showSecond ? (secondLabelBoxes(record) ?? []) : []).map((b, i) => {
    const c = classById.get(b.label_class);
    return {
      id: `s${i}`, x: b.x, y: b.y, w: b.w, h: b.h, color: c?.color ?? "#64748b", dotted: true,
      label: `2nd: ${c?.name ?? ""}`, shortLabel: "2nd",
    };
  });
  return [...label, ...predicted, ...second];
}

/** A stroke sample as the stage draws it: solid, dashed (model) or dotted (second label). */
function LineSample({ dash }: { dash?: string }) {
  return (
    <svg width="26" height="10" aria-hidden="true" className="line-sample">
      <line x1="1" y1="5" x2="25" y2="5" stroke="currentColor" strokeWidth="2" strokeDasharray={dash} />
    </svg>
  );
}

/** What the stage's outlines mean, and the switch for the second label's boxes. */
function StageLegend({
  record, secondBoxes, showSecond, onShowSecond,
}: {
  record: ImageRecord;
  secondBoxes: Box[];
  showSecond: boolean;
  onShowSecond: (show: boolean) => void;
}) {
  const who = record.consensus?.annotator ?? "someone";
  return (
    <div className="stage-legend small" data-testid="stage-legend">
      <span><LineSample /> first label{record.label?.annotator ? ` (${record.label.annotator})` : ""}</span>
      {record.prediction?.boxes?.length ? <span><LineSample dash="6 4" /> model</span> : null}
      {secondBoxes.length === 0 ? (
        <span><LineSample dash="2 4" /> second label ({who}): no boxes</span>
      ) : (
        <label className="stage-legend-toggle">
          <input type="checkbox" checked={showSecond} onChange={(e) => onShowSecond(e.target.checked)} />
          <LineSample dash="2 4" /> second label ({who})
        </label>
      )}
    </div>
  );
}

/** Edits a label: a class for classification, a list of boxes (class, remove, take the model's) for detection. */
export function LabelEditor({
  record, classes, taskType, busy, submitLabel, onSubmit, onDraft,
}: {
  record: ImageRecord;
  classes: readonly LabelClass[];
  taskType: TaskType;
  busy: boolean;
  submitLabel: string;
  onSubmit: (input: LabelInput) => void;
  onDraft?: (boxes: Box[] | null) => void;
}) {
  const [labelClass, setLabelClass] = useState<number | null>(record.label?.label_class ?? null);
  const [boxes, setBoxes] = useState<Box[]>(record.label?.boxes ?? []);
  // Another (or refetched) record: start over from its label, reset while rendering.
  const [shownRecord, setShownRecord] = useState(record);
  if (shownRecord !== record) {
    setShownRecord(record);
    setLabelClass(record.label?.label_class ?? null);
    setBoxes(record.label?.boxes ?? []);
  }
  useEffect(() => onDraft?.(taskType === "detection" ? boxes : null), [boxes, onDraft, taskType]);

  if (taskType === "classification") {
    return (
      <form className="label-editor" onSubmit={(e) => { e.preventDefault(); onSubmit({ label_class: labelClass }); }}>
        <ClassPicker classes={classes} selected={labelClass} onPick={setLabelClass} probs={record.prediction?.probs} />
        <button type="submit" className="btn btn-primary" disabled={busy || labelClass === null}>{submitLabel}</button>
      </form>
    );
  }
  const modelBoxes = (record.prediction?.boxes ?? []).filter((b) => b.score >= 0.3);
  return (
    <form className="label-editor" onSubmit={(e) => { e.preventDefault(); onSubmit({ boxes }); }}>
      <ul className="box-list">
        {boxes.map((box, i) => (
          <li key={i} className="row">
            <label className="sr-only" htmlFor={`box-class-${i}`}>Class of box {i + 1}</label>
            <select id={`box-class-${i}`} value={box.label_class}
              onChange={(e) => setBoxes(boxes.map((b, j) => (j === i ? { ...b, label_class: Number(e.target.value) } : b)))}>
              {classes.map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
            </select>
            <span className="muted small nowrap">{Math.round(box.w)}×{Math.round(box.h)} at {Math.round(box.x)},{Math.round(box.y)}</span>
            <button type="button" className="btn btn-small btn-ghost" aria-label={`Remove box ${i + 1}`}
              onClick={() => setBoxes(boxes.filter((_, j) => j !== i))}>Remove</button>
          </li>
        ))}
        {boxes.length === 0 ? <li className="muted small">No boxes.</li> : null}
      </ul>
      <div className="row">
        {modelBoxes.length > 0 ? (
          <button type="button" className="btn btn-small"
            onClick={() => setBoxes(modelBoxes.map(({ x, y, w, h, label_class }) => ({ x, y, w, h, label_class })))}>
            Use the model's {modelBoxes.length} box{modelBoxes.length === 1 ? "" : "es"}
          </button>
        ) : null}
        <button type="submit" className="btn btn-primary" disabled={busy}>{submitLabel}</button>
      </div>
    </form>
  );
}

/** One image: the picture with its label (solid) and the model's boxes (dashed), the label and
 *  prediction side by side, why it is suspect, and its history. `children` adds the actions. */
export function ImageRecordView({
  record, classes, draftBoxes, children,
}: {
  record: ImageRecord;
  classes: readonly LabelClass[];
  draftBoxes?: Box[] | null;
  children?: ReactNode;
}) {
  const classById = new Map(classes.map((c) => [c.id, c]));
  const predicted = topClass(record.prediction?.probs);
  const label = record.label;
  const secondBoxes = secondLabelBoxes(record);
  const [showSecond, setShowSecond] = useState(true);
  return (
    <div className="label-layout" data-testid="image-record" data-image-id={record.image.id}>
      <div className="label-stage-column">
        <ImageStage
          image={record.image}
          boxes={stageBoxes(record, classById, draftBoxes ?? null, showSecond && secondBoxes !== null)}
          mode="view"
        />
        {secondBoxes !== null ? (
          <StageLegend record={record} secondBoxes={secondBoxes} showSecond={showSecond} onShowSecond={setShowSecond} />
        ) : null}
      </div>
      <aside className="label-sidebar">
        {children}
        <section className="sidebar-card sidebar-lead">
          <div className="compare">
            <div>
              <h3 className="small muted">Label</h3>
              <p className="compare-value" data-testid="record-label">
                {label ? labelSummary(label.label_class, label.boxes, classById) : "not labeled"}
              </p>
              {label ? <p className="muted small">by {label.annotator ?? "an import"}</p> : null}
            </div>
            <div>
              <h3 className="small muted">Model</h3>
              <p className="compare-value" data-testid="record-prediction">
                {record.prediction == null
                  ? "no prediction"
                  : predicted
                    ? `${classById.get(predicted.id)?.name ?? predicted.id} ${(predicted.p * 100).toFixed(0)}%`
                    : labelSummary(null, (record.prediction.boxes ?? []).filter((b) => b.score >= 0.3), classById)}
              </p>
              {record.prediction ? <p className="muted small">version {record.prediction.model_version}</p> : null}
            </div>
          </div>
          {record.quality?.reason ? (
            <p className="reason" data-testid="record-reason">
              Suspected error ({(record.quality.suspicion * 100).toFixed(0)}%): {record.quality.reason}
            </p>
          ) : null}
          {record.consensus ? (
            <p className={record.consensus.agreed === false ? "reason" : "muted small"} data-testid="record-consensus">
              {consensusLine(record.consensus, classById)}
              {record.consensus.agreed === false && record.consensus.boxes.length > 0 ? (
                <span className="small"> — {record.consensus.reason}</span>
              ) : null}
            </p>
          ) : null}
          <p className="muted small wrap">
            {record.image.original_name} · {record.image.status} · {record.image.split}
            {record.quality?.review_state ? ` · ${record.quality.review_state}` : ""}
          </p>
        </section>
        <section className="sidebar-card">
          <h3>History</h3>
          {record.history.length === 0 ? <p className="muted small">No label yet.</p> : (
            <ol className="history" data-testid="record-history">
              {record.history.map((entry, i) => (
                <li key={i}>
                  <span>{historyLine(entry, classById)}</span>
                  <time className="muted small" dateTime={entry.at}>{new Date(entry.at).toLocaleString()}</time>
                </li>
              ))}
            </ol>
          )}
        </section>
      </aside>
    </div>
  );
}
