import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from "react";
import { Link, useParams } from "react-router";
import { ApiError } from "../../api/client";
import type { LabelClass, Project, QueueNext } from "../../api/types";
import { ErrorMessage } from "../../components/error-message";
import { roundRect } from "../../components/image-stage/geometry";
import { ImageStage, type ImageStageHandle, type StageBox } from "../../components/image-stage/image-stage";
import { Spinner } from "../../components/spinner";
import { useClasses, useProject, useStats } from "../projects";
import { BoxList } from "./box-list";
import { ClassPicker } from "./class-picker";
import { DisplayControls } from "./display-controls";
import { displayFilter, NEUTRAL_DISPLAY, type DisplayAdjust } from "./display-filter";
import { dropOtherDrafts, loadDraft, saveDraft } from "./drafts";
import {
  boxesToSubmit,
  countAbove,
  draftOf,
  editorReducer,
  initialEditorState,
  isVisible,
  pickedBox,
  type EditorAction,
  type EditorBox,
} from "./editor-state";
import "./label.css";
import { queueConflictMessage } from "./queue-messages";
import { classForKey, enterKeepsNativeAction, isTypingTarget, keyToCommand } from "./shortcuts";
import { useLabelSession } from "./use-label-session";

export function LabelPage() {
  const projectId = Number(useParams().projectId);
  const project = useProject(projectId);
  const classes = useClasses(projectId);
  if (project.isError) return <ErrorMessage error={project.error} />;
  if (classes.isError) return <ErrorMessage error={classes.error} />;
  if (project.isPending || classes.isPending) return <Spinner label="Loading project" />;
  if (classes.data.length === 0) {
    return (
      <div className="page narrow">
        <div className="empty-state">
          <h1>No label classes yet</h1>
          <p className="muted">A project admin has to add label classes before anyone can label.</p>
        </div>
      </div>
    );
  }
  return <LabelWorkbench project={project.data} classes={classes.data} />;
}

function topClass(probs: Record<string, number> | null | undefined, classes: readonly LabelClass[]): number | null {
  if (!probs) return null;
  let best: number | null = null;
  let bestP = -1;
  for (const c of classes) {
    const p = probs[String(c.id)];
    if (p !== undefined && p > bestP) {
      best = c.id;
      bestP = p;
    }
  }
  return best;
}

function LabelWorkbench({ project, classes }: { project: Project; classes: LabelClass[] }) {
  const session = useLabelSession(project.id);
  const stats = useStats(project.id);
  const [editor, dispatchEditor] = useReducer(editorReducer, initialEditorState);
  const [threshold, setThreshold] = useState(0.5);
  const [display, setDisplay] = useState<DisplayAdjust>(NEUTRAL_DISPLAY);
  const [notice, setNotice] = useState<string | null>(null);
  const stageRef = useRef<ImageStageHandle>(null);
  const pageRef = useRef<HTMLDivElement>(null);
  const detection = project.task_type === "detection";
  const classById = useMemo(() => new Map(classes.map((c) => [c.id, c])), [classes]);
  const current: QueueNext | null = session.state.status === "ready" ? session.state.current : null;

  // Set by the user's own edits, so loading an image never writes a draft by itself.
  const [touched, setTouched] = useState(false);
  const dispatch = useCallback((action: EditorAction) => {
    setTouched(true);
    dispatchEditor(action);
  }, []);

  // A new image: restore the unsaved work on it, else load the model's pre-annotation. Done while
  // rendering (not in an effect) so the new image never shows the previous image's boxes; once per
  // handed-out image, so a refetch of the classes or the project does not reload it.
  const currentKey = current ? `${current.reservation.id}:${current.image.id}` : null;
  const [loadedKey, setLoadedKey] = useState<string | null>(null);
  if (current && currentKey !== loadedKey) {
    setLoadedKey(currentKey);
    setTouched(false);
    const draft = loadDraft(project.id, current.image.id);
    if (draft) {
      dispatchEditor({ type: "restore", draft });
      setNotice("Restored your unsaved work on this image.");
    } else {
      setNotice(null);
      const boxes = (current.prediction?.boxes ?? []).map((b) => ({
        x: b.x,
        y: b.y,
        w: b.w,
        h: b.h,
        labelClass: b.label_class,
        score: b.score,
        pending: true,
      }));
      const suggestion = detection ? null : topClass(current.prediction?.probs, classes);
      dispatchEditor({
        type: "load",
        boxes,
        classChoice: suggestion,
        // The class for new boxes carries over from the previous image.
        activeClass: suggestion ?? editor.activeClass ?? classes[0]?.id ?? null,
      });
    }
  }

  const currentImageId = current?.image.id;
  useEffect(() => {
    if (currentImageId !== undefined) dropOtherDrafts(project.id, currentImageId);
  }, [project.id, currentImageId]);

  useEffect(() => {
    if (current && touched) saveDraft(project.id, current.image.id, draftOf(editor));
    // Saved on the user's edits only; a new image resets `touched` in the same render as it loads.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [editor.boxes, editor.classChoice, editor.activeClass]);

  const onSubmit = useCallback(() => {
    if (!current) return;
    if (detection) {
      const boxes = boxesToSubmit(editor).map((b) => ({ ...roundRect(b), label_class: b.labelClass }));
      void session.submit({ boxes });
    } else {
      if (editor.classChoice === null) {
        setNotice("Pick a class first (keys 1–9).");
        return;
      }
      void session.submit({ label_class: editor.classChoice });
    }
  }, [current, detection, editor, session]);

  const pickClass = useCallback(
    (classId: number) => dispatch(detection ? { type: "setClass", labelClass: classId } : { type: "chooseClass", labelClass: classId }),
    [detection, dispatch],
  );

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (isTypingTarget(event.target)) return;
      const command = keyToCommand(event, project.task_type);
      if (!command) return;
      if ((command.type === "submit" || command.type === "skip") && event.repeat) return;
      if (command.type === "submit" && enterKeepsNativeAction(event.target, pageRef.current)) return;
      event.preventDefault();
      switch (command.type) {
        case "class": {
          const c = classForKey(command.key, classes);
          if (c) pickClass(c.id);
          break;
        }
        case "submit":
          onSubmit();
          break;
        case "skip":
          void session.skip();
          break;
        case "undo":
          dispatch({ type: "undo" });
          break;
        case "acceptAll":
          dispatch({ type: "acceptAbove", threshold });
          break;
        case "delete":
          dispatch({ type: "delete" });
          break;
        case "deselect":
          dispatch({ type: "select", id: null });
          break;
        case "zoomIn":
          stageRef.current?.zoomIn();
          break;
        case "zoomOut":
          stageRef.current?.zoomOut();
          break;
        case "fit":
          stageRef.current?.fit();
          break;
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [classes, dispatch, onSubmit, pickClass, project.task_type, session, threshold]);

  if (session.state.status === "loading") return <Spinner label="Reserving the next image" />;
  if (session.state.status === "stopped") {
    const conflict = queueConflictMessage(session.state.error);
    return (
      <div className="page narrow">
        {conflict ? (
          <div className={`empty-state queue-stop queue-stop-${conflict.kind}`} data-testid="queue-stop" data-kind={conflict.kind}>
            <h1>{conflict.title}</h1>
            <p>{conflict.body}</p>
            <div className="row">
              <button type="button" className="btn" onClick={session.retry}>
                Try again
              </button>
              <Link to="/projects" className="btn btn-ghost">
                Back to projects
              </Link>
            </div>
          </div>
        ) : (
          <>
            <ErrorMessage error={session.state.error} title="Could not reserve an image" />
            <button type="button" className="btn" onClick={session.retry}>
              Try again
            </button>
          </>
        )}
      </div>
    );
  }

  const { current: reserved } = session.state;
  const listed = editor.boxes.filter((b) => isVisible(b, threshold));
  const shown = listed.filter((b) => !editor.hiddenIds.includes(b.id));
  const stageBoxes: StageBox[] = shown.map((b: EditorBox) => {
    const c = classById.get(b.labelClass);
    const name = c?.name ?? `class ${b.labelClass}`;
    return {
      id: b.id,
      x: b.x,
      y: b.y,
      w: b.w,
      h: b.h,
      color: c?.color ?? "#64748b",
      label: b.score !== null ? `${name} ${(b.score * 100).toFixed(0)}%` : name,
      shortLabel: b.score !== null ? `${(b.score * 100).toFixed(0)}%` : name.slice(0, 3),
      pending: b.pending,
    };
  });
  const pendingAbove = countAbove(editor.boxes, threshold);
  const hiddenBelow = editor.boxes.filter((b) => !isVisible(b, threshold)).length;
  const hasPredictedBoxes = editor.boxes.some((b) => b.score !== null);
  const accepted = boxesToSubmit(editor).length;
  const activeClass = editor.activeClass !== null ? classById.get(editor.activeClass) : undefined;
  const picked = detection ? pickedBox(editor) : undefined;
  const pickedIndex = picked ? listed.indexOf(picked) + 1 : 0;

  return (
    <div className="label-layout" data-testid="label-page" ref={pageRef} data-image-id={reserved.image.id}>
      <div className="label-stage-column">
        <ImageStage
          ref={stageRef}
          image={reserved.image}
          boxes={stageBoxes}
          mode={detection ? "edit" : "view"}
          selectedId={editor.selectedId}
          onSelect={(id, byClick) => dispatch({ type: "select", id, byClick })}
          onAdd={(rect) => dispatch({ type: "add", rect })}
          onUpdate={(id, rect) => dispatch({ type: "update", id, rect })}
          drawColor={activeClass?.color}
          imageFilter={displayFilter(display)}
        />
        <p className="stage-hint muted">
          {detection
            ? "Drag to draw a box · drag a box to move it · handles resize · wheel zooms · Space+drag or right-drag pans"
            : "Wheel zooms · drag pans"}
        </p>
      </div>
      <aside className="label-sidebar">
        <section className="sidebar-card">
          <div className="sidebar-title" title={reserved.image.original_name}>
            {reserved.image.original_name}
          </div>
          <div className="muted small">
            #{reserved.image.id} · {reserved.image.width}×{reserved.image.height}px
          </div>
          <dl className="stat-row">
            <div>
              <dt>Credits left</dt>
              <dd data-testid="credits-left">{reserved.balance.available}</dd>
            </div>
            <div>
              <dt>Labeled today</dt>
              <dd data-testid="labeled-today">{stats.data?.labeled_today_by_me ?? "–"}</dd>
            </div>
          </dl>
          <div className="reason" data-testid="reason">
            {reserved.reason.strategy === "unscored" ? (
              <span>
                <strong>Not scored yet</strong> <span className="muted small">· no model has ranked the pool</span>
              </span>
            ) : (
              <>
                <span className="muted small">Chosen by</span>{" "}
                <strong>{reserved.reason.strategy.replaceAll("_", " ")}</strong>
                {reserved.reason.score !== null && reserved.reason.score !== undefined ? (
                  <>
                    {" "}
                    <span className="muted small">score</span> <strong>{reserved.reason.score.toFixed(3)}</strong>
                  </>
                ) : null}
              </>
            )}
          </div>
        </section>

        <section className="sidebar-card" data-testid="class-card">
          <h3 data-testid="class-target">
            {!detection ? "Class" : picked ? `Class of box ${pickedIndex}` : "Class for new boxes"}
          </h3>
          {picked ? (
            <p className="muted small class-target-hint">
              Keys 1–9 relabel box {pickedIndex}. <kbd>Esc</kbd> goes back to the class for new boxes (
              {activeClass?.name ?? "none"}).
            </p>
          ) : null}
          <ClassPicker
            classes={classes}
            selected={detection ? (picked?.labelClass ?? editor.activeClass) : editor.classChoice}
            onPick={pickClass}
            probs={detection ? null : reserved.prediction?.probs}
          />
        </section>

        {detection ? (
          <section className="sidebar-card" data-testid="prediction-panel">
            <h3>Boxes</h3>
            {hasPredictedBoxes ? (
              <>
                <label className="field field-inline">
                  <span>
                    Confidence ≥ <strong>{threshold.toFixed(2)}</strong>
                  </span>
                  <input
                    type="range"
                    min={0}
                    max={1}
                    step={0.05}
                    value={threshold}
                    aria-label="Confidence threshold"
                    onChange={(e) => setThreshold(Number(e.target.value))}
                  />
                </label>
                <button
                  type="button"
                  className="btn btn-small btn-block"
                  disabled={pendingAbove === 0}
                  onClick={() => dispatch({ type: "acceptAbove", threshold })}
                >
                  Accept {pendingAbove} suggestion{pendingAbove === 1 ? "" : "s"} <kbd>A</kbd>
                </button>
              </>
            ) : (
              <p className="muted small">No model suggestions for this image.</p>
            )}
            <p className="small" data-testid="box-count">
              {accepted} box{accepted === 1 ? "" : "es"} to submit
              {pendingAbove > 0 ? ` · ${pendingAbove} suggestion${pendingAbove === 1 ? "" : "s"} to review` : ""}
              {hiddenBelow > 0 ? ` · ${hiddenBelow} below the threshold` : ""}
            </p>
            <BoxList
              boxes={listed}
              classById={classById}
              selectedId={editor.selectedId}
              picked={editor.picked}
              hiddenIds={editor.hiddenIds}
              onPick={(id) => dispatch({ type: "select", id, byClick: true })}
              onToggleHidden={(id) => dispatch({ type: "toggleHidden", id })}
              onDelete={(id) => dispatch({ type: "delete", id })}
              onAccept={(id) => dispatch({ type: "accept", id })}
            />
          </section>
        ) : null}

        <section className="sidebar-card">
          <h3>Display</h3>
          <DisplayControls value={display} onChange={setDisplay} />
        </section>

        <section className="sidebar-card sidebar-actions">
          {notice ? <div className="alert alert-warning">{notice}</div> : null}
          {session.actionError ? <ErrorMessage error={session.actionError} /> : null}
          {session.actionError instanceof ApiError && session.actionError.code === "not_reserved" ? (
            <button type="button" className="btn btn-block" onClick={session.retry} data-enter-activates>
              Get the next image
            </button>
          ) : null}
          <button
            type="button"
            className="btn btn-primary btn-block"
            onClick={onSubmit}
            disabled={session.busy}
            data-enter-activates
          >
            Submit <kbd>Enter</kbd>
          </button>
          <div className="row">
            <button type="button" className="btn grow" onClick={() => void session.skip()} disabled={session.busy}>
              Skip <kbd>S</kbd>
            </button>
            <button
              type="button"
              className="btn grow"
              onClick={() => dispatch({ type: "undo" })}
              disabled={editor.past.length === 0}
            >
              Undo <kbd>Z</kbd>
            </button>
          </div>
          <details className="shortcuts small">
            <summary>Keyboard shortcuts</summary>
            <ul>
              <li>
                <kbd>1</kbd>–<kbd>9</kbd> {detection ? "class for new boxes; relabel a box you clicked" : "pick class"}
              </li>
              {detection ? (
                <>
                  <li>
                    <kbd>A</kbd> accept suggestions above the threshold
                  </li>
                  <li>
                    <kbd>Del</kbd> delete the selected box, <kbd>Esc</kbd> release it
                  </li>
                </>
              ) : null}
              <li>
                <kbd>Enter</kbd> submit, <kbd>S</kbd> skip, <kbd>Z</kbd> undo
              </li>
              <li>
                <kbd>+</kbd>/<kbd>−</kbd> zoom, <kbd>0</kbd> fit
              </li>
            </ul>
          </details>
        </section>
      </aside>
    </div>
  );
}
