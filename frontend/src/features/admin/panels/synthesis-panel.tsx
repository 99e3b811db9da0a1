import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { isNotAvailable } from "../../../api/client";
import { ErrorMessage } from "../../../components/error-message";
import { NotAvailable, Panel } from "../../../components/panel";
import { AXIS_LABEL, GRID_STROKE, LEGEND_STYLE, TICK } from "../../../components/charts/chart-style";
import { formatValue, metricName } from "../../../components/charts/format";
import { ProgressBar } from "../../../components/progress-bar";
import { startSynthesis, synthesisJobsQuery } from "../api";
import { beforeAfterRows, isSynthesisOpen, stopReasonText, synthesisProgress, synthesisRefetchMs } from "../synthesis-data";

export function SynthesisPanel({ projectId }: { projectId: number }) {
  const queryClient = useQueryClient();
  const jobs = useQuery({
    ...synthesisJobsQuery(projectId),
    refetchInterval: (query) => synthesisRefetchMs(query.state.data?.[0]),
  });
  const [allowance, setAllowance] = useState("10");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const job = jobs.data?.[0];
  const open = job ? isSynthesisOpen(job) : false;

  useEffect(() => {
    // Each synthetic image reserves a credit as it is made.
    if (job) void queryClient.invalidateQueries({ queryKey: ["projects", projectId, "balance"] });
    // Only a change in images made moves the balance, not every poll of the job.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [job?.images_made, projectId, queryClient]);

  if (jobs.isError && isNotAvailable(jobs.error)) {
    return (
      <Panel title="Synthesis" testId="synthesis-panel">
        <NotAvailable what="Synthesis" />
      </Panel>
    );
  }

  async function onStart(event: FormEvent) {
    event.preventDefault();
    setError(null);
    const credits = Number(allowance);
    if (!Number.isInteger(credits) || credits < 1) {
      setError(new Error("The allowance must be a whole number of credits, at least 1."));
      return;
    }
    setBusy(true);
    try {
      const started = await startSynthesis(projectId, credits);
      queryClient.setQueryData(synthesisJobsQuery(projectId).queryKey, [started, ...(jobs.data ?? [])]);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Panel
      title="Synthesis"
      testId="synthesis-panel"
      actions={
        <form className="panel-form" onSubmit={onStart}>
          <label className="small">
            Credits{" "}
            <input
              type="number"
              min={1}
              step={1}
              value={allowance}
              onChange={(e) => setAllowance(e.target.value)}
              aria-label="Synthesis allowance in credits"
              className="input-small"
            />
          </label>
          <button type="submit" className="btn btn-primary btn-small" disabled={busy || open}>
            {open ? "Synthesizing…" : "Synthesize"}
          </button>
        </form>
      }
    >
      {error ? <ErrorMessage error={error} /> : null}
      {jobs.isError && !isNotAvailable(jobs.error) ? <ErrorMessage error={jobs.error} /> : null}
      {job ? (
        <div className="run" data-testid="synthesis-job">
          <div className="run-head">
            <span>
              Job #{job.id} · {job.images_made} of {job.allowance} images
              {job.model_version_before ? ` · from model v${job.model_version_before}` : ""}
            </span>
            <span className={`badge badge-status-${job.status}`}>{job.status}</span>
          </div>
          <ProgressBar value={synthesisProgress(job)} label="Synthesis progress" />
          <dl className="stat-row small">
            <div>
              <dt>Confirmed</dt>
              <dd>{job.images.confirmed}</dd>
            </div>
            <div>
              <dt>Waiting for annotators</dt>
              <dd>{job.images.pending}</dd>
            </div>
            <div>
              <dt>Skipped</dt>
              <dd>{job.images.skipped}</dd>
            </div>
          </dl>
          {job.stop_reason ? <p className="muted small">{stopReasonText(job.stop_reason)}</p> : null}
          {job.status === "failed" && job.error ? <div className="alert alert-error">{job.error}</div> : null}
          {job.classes.length > 0 ? (
            <div className="chart" data-testid="synthesis-before-after">
              <ResponsiveContainer width="100%" height={200}>
                <BarChart data={beforeAfterRows(job)} margin={{ top: 8, right: 16, bottom: 8, left: 8 }}>
                  <CartesianGrid stroke={GRID_STROKE} vertical={false} />
                  <XAxis dataKey="name" tick={TICK} />
                  <YAxis
                    domain={[0, 1]}
                    tick={TICK}
                    ticks={[0, 0.2, 0.4, 0.6, 0.8, 1]}
                    width={56}
                    label={{ value: `val ${metricName(job.metric)}`, angle: -90, position: "insideLeft", offset: 8, ...AXIS_LABEL }}
                  />
                  <Tooltip formatter={(v) => (typeof v === "number" ? formatValue(v) : "–")} />
                  <Legend verticalAlign="top" height={28} wrapperStyle={LEGEND_STYLE} itemSorter={null} />
                  <Bar dataKey="before" name={`before (v${job.model_version_before ?? "–"})`} fill="#94a3b8" isAnimationActive={false} />
                  <Bar dataKey="after" name={`after (v${job.model_version_after ?? "–"})`} fill="#2563eb" isAnimationActive={false} />
                </BarChart>
              </ResponsiveContainer>
              <p className="muted small chart-caption">
                {job.model_version_after
                  ? `Per class: model v${job.model_version_before ?? "–"} before the job, v${job.model_version_after} after.`
                  : "“After” appears once a model is trained after the job's last confirmed image."}
              </p>
            </div>
          ) : null}
        </div>
      ) : jobs.isPending ? (
        <p className="muted">Loading…</p>
      ) : (
        <p className="muted">
          No synthesis job yet. A job makes new images for the classes and regions the health check finds weak. Each costs
          one credit and waits at the top of the labeling queue until an annotator confirms it.
        </p>
      )}
    </Panel>
  );
}
