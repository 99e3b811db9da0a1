import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { isNotAvailable } from "../../../api/client";
import type { TrainingRun } from "../../../api/types";
import { ErrorMessage } from "../../../components/error-message";
import { NotAvailable, Panel } from "../../../components/panel";
import { ProgressBar } from "../../../components/progress-bar";
import { latestTrainingRunQuery, startTraining, trainingRunQuery } from "../api";

export const isRunFinished = (run: TrainingRun) => run.status === "succeeded" || run.status === "failed";

/** Progress in [0, 1]: `progress` (a fraction, or a percentage), else epoch / epochs_max. */
export function runProgress(run: TrainingRun): number {
  if (typeof run.progress === "number" && run.progress > 0) return run.progress > 1 ? run.progress / 100 : run.progress;
  if (run.epoch && run.epochs_max) return run.epoch / run.epochs_max;
  return run.status === "succeeded" ? 1 : 0;
}

export function TrainingPanel({ projectId }: { projectId: number }) {
  const queryClient = useQueryClient();
  const latest = useQuery(latestTrainingRunQuery(projectId));
  const [runId, setRunId] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const shownId = runId ?? latest.data?.id ?? null;
  const run = useQuery({
    ...trainingRunQuery(projectId, shownId ?? 0),
    enabled: shownId !== null,
    refetchInterval: (query) => (query.state.data && isRunFinished(query.state.data) ? false : 1000),
  });
  const current = run.data ?? latest.data ?? null;
  const finished = current ? isRunFinished(current) : false;

  useEffect(() => {
    if (finished) {
      void queryClient.invalidateQueries({ queryKey: ["projects", projectId, "model-versions"] });
      void queryClient.invalidateQueries({ queryKey: ["projects", projectId, "learning-curve"] });
      void queryClient.invalidateQueries({ queryKey: ["projects", projectId, "rescore"] });
    }
  }, [finished, projectId, queryClient]);

  if (latest.isError && isNotAvailable(latest.error)) {
    return (
      <Panel title="Training" testId="training-panel">
        <NotAvailable what="Training" />
      </Panel>
    );
  }

  async function onTrain() {
    setBusy(true);
    setError(null);
    try {
      const started = await startTraining(projectId);
      queryClient.setQueryData(trainingRunQuery(projectId, started.id).queryKey, started);
      setRunId(started.id);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  const running = current !== null && !finished;
  return (
    <Panel
      title="Training"
      testId="training-panel"
      actions={
        <button type="button" className="btn btn-primary btn-small" onClick={onTrain} disabled={busy || running}>
          {running ? "Training…" : "Train now"}
        </button>
      }
    >
      {error ? <ErrorMessage error={error} /> : null}
      {latest.isError && !isNotAvailable(latest.error) ? <ErrorMessage error={latest.error} /> : null}
      {current ? (
        <div className="run" data-testid="training-run">
          <div className="run-head">
            <span>
              Run #{current.id}
              {current.model_version ? ` → model v${current.model_version}` : ""}
            </span>
            <span className={`badge badge-status-${current.status ?? "queued"}`}>{current.status ?? "queued"}</span>
          </div>
          <ProgressBar value={runProgress(current)} label="Training progress" />
          <dl className="stat-row small">
            <div>
              <dt>Epoch</dt>
              <dd>
                {current.epoch ?? "–"}
                {current.epochs_max ? ` / ${current.epochs_max}` : ""}
              </dd>
            </div>
            <div>
              <dt>Loss</dt>
              <dd>{typeof current.loss === "number" ? current.loss.toFixed(4) : "–"}</dd>
            </div>
            <div>
              <dt>Val metric</dt>
              <dd>{typeof current.val_metric === "number" ? current.val_metric.toFixed(3) : "–"}</dd>
            </div>
          </dl>
          {current.status === "failed" && current.error ? <div className="alert alert-error">{current.error}</div> : null}
        </div>
      ) : latest.isPending ? (
        <p className="muted">Loading…</p>
      ) : (
        <p className="muted">No training run yet.</p>
      )}
    </Panel>
  );
}
