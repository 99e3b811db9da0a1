import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useState } from "react";
import { useParams } from "react-router";
import { isNotAvailable } from "../../api/client";
import { ErrorMessage } from "../../components/error-message";
import { ImageStage, type StageBox } from "../../components/image-stage/image-stage";
import { Spinner } from "../../components/spinner";
import { isTypingTarget } from "../label";
import { useClasses } from "../projects";
import { fetchNextVerification, recordVerification } from "./api";
import { countSentence, totalCount } from "./count-sentence";

const nextVerificationKey = (projectId: number) => ["projects", projectId, "verifications", "next"];

export function VerifyPage() {
  const projectId = Number(useParams().projectId);
  const queryClient = useQueryClient();
  const classes = useClasses(projectId);
  const next = useQuery({ queryKey: nextVerificationKey(projectId), queryFn: () => fetchNextVerification(projectId), staleTime: Infinity });
  const [trueCount, setTrueCount] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState(0);
  const prediction = next.data?.prediction;

  // A new prediction starts with an empty count and no error (reset while rendering, see
  // https://react.dev/learn/you-might-not-need-an-effect#adjusting-some-state-when-a-prop-changes).
  const [shownPredictionId, setShownPredictionId] = useState(prediction?.id);
  if (shownPredictionId !== prediction?.id) {
    setShownPredictionId(prediction?.id);
    setTrueCount("");
    setError(null);
  }

  const send = useCallback(
    async (verdict: "correct" | "incorrect") => {
      if (!prediction || busy) return;
      const parsed = trueCount.trim() === "" ? null : Number(trueCount);
      if (parsed !== null && (!Number.isInteger(parsed) || parsed < 0)) {
        setError(new Error("The true count must be a whole number ≥ 0."));
        return;
      }
      setBusy(true);
      setError(null);
      try {
        await recordVerification(projectId, {
          prediction: prediction.id,
          verdict,
          ...(parsed !== null ? { true_count: parsed } : {}),
        });
        setDone((n) => n + 1);
        const following = await fetchNextVerification(projectId);
        queryClient.setQueryData(nextVerificationKey(projectId), following);
      } catch (err) {
        setError(err);
      } finally {
        setBusy(false);
      }
    },
    [busy, prediction, projectId, queryClient, trueCount],
  );

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (isTypingTarget(event.target) || event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
      if (event.key === "c" || event.key === "C") void send("correct");
      else if (event.key === "x" || event.key === "X") void send("incorrect");
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [send]);

  if (next.isPending || classes.isPending) return <Spinner label="Loading the next prediction" />;
  if (next.isError) {
    if (isNotAvailable(next.error)) {
      return (
        <div className="page narrow">
          <div className="empty-state" data-testid="verify-unavailable">
            <h1>Verification is not enabled yet</h1>
            <p className="muted">This server does not offer production verification yet.</p>
          </div>
        </div>
      );
    }
    return <ErrorMessage error={next.error} />;
  }
  if (!prediction) {
    return (
      <div className="page narrow">
        <div className="empty-state" data-testid="verify-empty">
          <h1>Nothing to verify right now</h1>
          <p className="muted">
            {done > 0 ? `You verified ${done} prediction${done === 1 ? "" : "s"}. ` : ""}New production predictions
            will show up here.
          </p>
          <button type="button" className="btn" onClick={() => void next.refetch()}>
            Check again
          </button>
        </div>
      </div>
    );
  }

  const classById = new Map((classes.data ?? []).map((c) => [c.id, c]));
  const boxes: StageBox[] = prediction.boxes.map((b, i) => {
    const c = classById.get(b.label_class);
    return {
      id: `p${i}`,
      x: b.x,
      y: b.y,
      w: b.w,
      h: b.h,
      color: c?.color ?? "#2563eb",
      label: `${c?.name ?? ""} ${(b.score * 100).toFixed(0)}%`.trim(),
      shortLabel: `${(b.score * 100).toFixed(0)}%`,
    };
  });
  const total = prediction.total_count ?? totalCount(prediction.counts);
  const predictedClass = prediction.label_class != null ? classById.get(prediction.label_class) : undefined;
  const isCount = prediction.boxes.length > 0 || Object.keys(prediction.counts).length > 0 || !predictedClass;

  return (
    <div className="label-layout" data-testid="verify-page" data-prediction-id={prediction.id}>
      <div className="label-stage-column">
        <ImageStage image={prediction.image} boxes={boxes} mode="view" />
      </div>
      <aside className="label-sidebar">
        <section className="sidebar-card sidebar-lead">
          <p className="count-sentence" data-testid="count-sentence">
            {isCount ? countSentence(prediction.counts) : `The model says: ${predictedClass!.name}`}
          </p>
          <p className="muted small">
            Model version {prediction.model_version} · prediction #{prediction.id}
            {done > 0 ? ` · ${done} verified this session` : ""}
          </p>
        </section>
        <section className="sidebar-card sidebar-actions">
          <h3>Is this right?</h3>
          {error ? <ErrorMessage error={error} /> : null}
          <div className="row">
            <button
              type="button"
              className="btn btn-success grow"
              disabled={busy}
              onClick={() => void send("correct")}
            >
              Correct <kbd>C</kbd>
            </button>
            <button
              type="button"
              className="btn btn-danger grow"
              disabled={busy}
              onClick={() => void send("incorrect")}
            >
              Incorrect <kbd>X</kbd>
            </button>
          </div>
          {isCount ? (
          <form
            className="field true-count"
            onSubmit={(e) => {
              e.preventDefault();
              void send("incorrect");
            }}
          >
            <label htmlFor="true-count">True count (optional)</label>
            <div className="row">
              <input
                id="true-count"
                type="number"
                min={0}
                step={1}
                inputMode="numeric"
                placeholder={String(total)}
                value={trueCount}
                onChange={(e) => setTrueCount(e.target.value)}
              />
              <button type="submit" className="btn" disabled={busy || trueCount.trim() === ""}>
                Send as incorrect
              </button>
            </div>
          </form>
          ) : null}
        </section>
      </aside>
    </div>
  );
}
