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
      const d = query.state.data;
      if (query.state.error) return false;
      return d && d.chunks_total > 0 && d.chunks_done < d.chunks_total ? 1500 : 10_000;
    },
  });
  let body;
  if (rescore.isPending) body = <p className="muted">Loading…</p>;
  else if (rescore.isError) {
    body = isNotAvailable(rescore.error) ? <NotAvailable what="Rescoring progress" /> : <ErrorMessage error={rescore.error} />;
  } else {
    const { chunks_done, chunks_total } = rescore.data;
    body =
      chunks_total > 0 ? (
        <>
          <ProgressBar value={chunks_done / chunks_total} label="Rescore progress" />
          <p className="muted small">
            {chunks_done} of {chunks_total} chunks rescored
            {chunks_done >= chunks_total ? " · the queue is up to date" : ""}
          </p>
        </>
      ) : (
        <p className="muted">No rescoring has run yet.</p>
      );
  }
  return (
    <Panel title="Pool rescoring" testId="rescore-panel">
      {body}
    </Panel>
  );
}
