import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useRef, useState } from "react";
import { useParams } from "react-router";
import { ErrorMessage } from "../../components/error-message";
import { Spinner } from "../../components/spinner";
import { isTypingTarget } from "../label";
import { useClasses, useProject } from "../projects";
import { decideReview, fetchNextReview, type LabelInput } from "./api";
import { ImageRecordView, LabelEditor } from "./image-record-view";

type Mode = "judge" | "fix" | "reject";

/** The review queue: most suspect labels first. A approves, F opens the fix form, R asks for a
 *  reason and rejects (the image goes back to the top of the labeling queue), S skips. */
export function ReviewPage() {
  const projectId = Number(useParams().projectId);
  const queryClient = useQueryClient();
  const project = useProject(projectId);
  const classes = useClasses(projectId);
  const [skipped, setSkipped] = useState<number[]>([]);
  const queryKey = ["projects", projectId, "review", "next", skipped];
  const next = useQuery({ queryKey, queryFn: () => fetchNextReview(projectId, skipped), staleTime: Infinity });
  const [mode, setMode] = useState<Mode>("judge");
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState(0);
  const [draft, setDraft] = useState<LabelInput["boxes"]>(null);
  const reasonRef = useRef<HTMLInputElement>(null);
  const item = next.data?.item ?? null;
  const imageId = item?.image.id;

  // A new image starts in judge mode with nothing typed (reset while rendering, see
  // https://react.dev/learn/you-might-not-need-an-effect#adjusting-some-state-when-a-prop-changes).
  const [shownImageId, setShownImageId] = useState(imageId);
  if (shownImageId !== imageId) {
    setShownImageId(imageId);
    setMode("judge");
    setReason("");
    setError(null);
    setDraft(null);
  }
  useEffect(() => {
    if (mode === "reject") reasonRef.current?.focus();
  }, [mode]);

  const decide = useCallback(
    async (verdict: "approve" | "fix" | "reject", extra: LabelInput & { reason?: string } = {}) => {
      if (imageId === undefined || busy) return;
      setBusy(true);
      setError(null);
      try {
        await decideReview(projectId, { image: imageId, verdict, ...extra });
        setDone((n) => n + 1);
        await queryClient.invalidateQueries({ queryKey: ["projects", projectId, "review", "next"] });
      } catch (err) {
        setError(err);
      } finally {
        setBusy(false);
      }
    },
    [busy, imageId, projectId, queryClient],
  );

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (isTypingTarget(event.target) || event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
      const key = event.key.toLowerCase();
      if (key === "a") void decide("approve");
      else if (key === "f") setMode("fix");
      else if (key === "r") {
        event.preventDefault(); // the R would otherwise land in the reason field
        setMode("reject");
      } else if (key === "s" && imageId !== undefined) setSkipped((s) => [...s, imageId]);
      else if (key === "escape") setMode("judge");
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [decide, imageId]);

  if (next.isPending || classes.isPending || project.isPending) return <Spinner label="Loading the next label to review" />;
  if (next.isError) return <ErrorMessage error={next.error} />;
  if (classes.isError || project.isError) return <ErrorMessage error={classes.error ?? project.error} />;
  if (!item) {
    return (
      <div className="page narrow">
        <div className="empty-state" data-testid="review-empty">
          <h1>Nothing to review</h1>
          <p className="muted">
            {done > 0 ? `You reviewed ${done} label${done === 1 ? "" : "s"}. ` : ""}
            {skipped.length > 0 ? `${skipped.length} skipped this session. ` : ""}New labels show up here as annotators work.
          </p>
          <button type="button" className="btn" onClick={() => { setSkipped([]); void next.refetch(); }}>Check again</button>
        </div>
      </div>
    );
  }
  return (
    <div data-testid="review-page" data-image-id={item.image.id}>
      <ImageRecordView record={item} classes={classes.data} draftBoxes={mode === "fix" ? draft : null}>
        <section className="sidebar-card sidebar-actions">
          <h3>Is this label right?</h3>
          {error ? <ErrorMessage error={error} /> : null}
          <div className="row">
            <button type="button" className="btn btn-success grow" disabled={busy} onClick={() => void decide("approve")}>
              Approve <kbd>A</kbd>
            </button>
            <button type="button" className="btn grow" disabled={busy} onClick={() => setMode("fix")}>
              Fix <kbd>F</kbd>
            </button>
            <button type="button" className="btn btn-danger grow" disabled={busy} onClick={() => setMode("reject")}>
              Reject <kbd>R</kbd>
            </button>
          </div>
          {mode === "fix" ? (
            <LabelEditor record={item} classes={classes.data} taskType={project.data.task_type} busy={busy}
              submitLabel="Save the fix" onSubmit={(input) => void decide("fix", input)} onDraft={setDraft} />
          ) : null}
          {mode === "reject" ? (
            <form className="field" onSubmit={(e) => { e.preventDefault(); void decide("reject", { reason }); }}>
              <label htmlFor="reject-reason">What is wrong? (the image is labeled again)</label>
              <div className="row">
                <input id="reject-reason" ref={reasonRef} className="grow" value={reason} maxLength={500}
                  onChange={(e) => setReason(e.target.value)} placeholder="e.g. the box misses half the parcel" />
                <button type="submit" className="btn btn-danger" disabled={busy || reason.trim() === ""}>Reject</button>
              </div>
            </form>
          ) : null}
          <p className="muted small">
            <kbd>S</kbd> skip · <kbd>Esc</kbd> back{done > 0 ? ` · ${done} reviewed this session` : ""}
          </p>
        </section>
      </ImageRecordView>
    </div>
  );
}
