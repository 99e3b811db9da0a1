import { useQuery } from "@tanstack/react-query";
import { isNotAvailable } from "../../../api/client";
import { ErrorMessage } from "../../../components/error-message";
import { NotAvailable, Panel } from "../../../components/panel";
import { ProgressBar } from "../../../components/progress-bar";
import { rescoreQuery } from "../api";

export function RescorePanel({ projectId }: { projectId: number }) {
  const rescore = useQuery({
    ...rescoreQuery(projectId),
    refetchInterval: (query) => {
      if (query.state.error) return false;
      const job = query.state.data;
      return job && (job.status === "queued" || job.status === "running") ? 1500 : 10_000;
    },
  });
  let body;
  if (rescore.isPending) body = <p className="muted">Loading…</p>;
  else if (rescore.isError) {
    body = isNotAvailable(rescore.error) ? <NotAvailable what="Rescoring progress" /> : <ErrorMessage error={rescore.error} />;
  } else if (!rescore.data) {
    body = <p className="muted">No rescoring has run yet.</p>;
  } else {
    const job = rescore.data;
    const done = job.chunks_done ?? 0;
    const total = job.chunks_total ?? 0;
    body = (
      <div className="run" data-testid="rescore">
        <div className="run-head">
          <span>Model v{job.model_version}</span>
          {job.status ? <span className={`badge badge-status-${job.status}`}>{job.status}</span> : null}
        </div>
        <ProgressBar value={total > 0 ? done / total : job.status === "succeeded" ? 1 : 0} label="Rescore progress" />
        <p className="muted small">
          {done} of {total} chunks
          {job.images_total ? ` · ${job.images_total} images` : ""}
        </p>
      </div>
    );
  }
  return (
    <Panel title="Pool rescoring" testId="rescore-panel">
      {body}
    </Panel>
  );
}
