import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, isNotAvailable } from "../../../api/client";
import type { TrainingRun } from "../../../api/types";
import { ErrorMessage } from "../../../components/error-message";
import { NotAvailable, Panel } from "../../../components/panel";
import { ProgressBar } from "../../../components/progress-bar";
import { startTraining, trainingRunQuery } from "../api";

const FINISHED = new Set(["succeeded", "success", "done", "finished", "completed", "failed", "failure", "error", "cancelled", "canceled"]);

export const isRunFinished = (run: TrainingRun) => FINISHED.has(run.status.toLowerCase());

/** Progress in [0, 1]: `progress` (a fraction or a percentage), else epoch / epochs_max. */
export function runProgress(run: TrainingRun): number {
  if (typeof run.progress === "number") return run.progress > 1 ? run.progress / 100 : run.progress;
  if (run.epoch && run.epochs_max) return run.epoch / run.epochs_max;
  return isRunFinished(run) ? 1 : 0;
}

const storageKey = (projectId: number) => `labelapp.training-run.${projectId}`;

export function TrainingPanel({ projectId }: { projectId: number }) {
  const queryClient = useQueryClient();
  const [runId, setRunId] = useState<number | null>(() => {
    const stored = window.localStorage.getItem(storageKey(projectId));
    return stored ? Number(stored) : null;
  });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  // DRF answers OPTIONS on every route it has: a cheap probe for "does training exist yet".
  const probe = useQuery({
    queryKey: ["projects", projectId, "train", "options"],
    queryFn: () => api<unknown>(`/api/projects/${projectId}/train`, { method: "OPTIONS" }),
    staleTime: Infinity,
  });
  const run = useQuery({
    ...trainingRunQuery(projectId, runId ?? 0),
    enabled: runId !== null,
    refetchInterval: (query) => (query.state.data && isRunFinished(query.state.data) ? false : 1000),
  });

  if (probe.isError && isNotAvailable(probe.error)) {
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
      window.localStorage.setItem(storageKey(projectId), String(started.id));
      queryClient.setQueryData(trainingRunQuery(projectId, started.id).queryKey, started);
      setRunId(started.id);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  const current = run.data;
  const running = current ? !isRunFinished(current) : false;
  if (current && isRunFinished(current)) {
    void queryClient.invalidateQueries({ queryKey: ["projects", projectId, "model-versions"] });
  }
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
      {current ? (
        <div className="run" data-testid="training-run">
          <div className="run-head">
            <span>Run #{current.id}</span>
            <span className={`badge badge-status-${current.status.toLowerCase()}`}>{current.status}</span>
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
        </div>
      ) : run.isError && !isNotAvailable(run.error) ? (
        <ErrorMessage error={run.error} />
      ) : (
        <p className="muted">No training run started from this browser yet.</p>
      )}
    </Panel>
  );
}
