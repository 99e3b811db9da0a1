import { useQuery } from "@tanstack/react-query";
import { ErrorMessage } from "../../../components/error-message";
import { Panel } from "../../../components/panel";
import { engineQuery } from "../api";

/** Which engine trains this project (pretrained backbone or the from-scratch fallback, and
 * why), and what the random evaluation sample holds and has cost. */
export function EnginePanel({ projectId }: { projectId: number }) {
  const engine = useQuery(engineQuery(projectId));
  let body;
  if (engine.isPending) body = <p className="muted">Loading…</p>;
  else if (engine.isError) body = <ErrorMessage error={engine.error} />;
  else {
    const { backbone, model, evaluation } = engine.data;
    body = (
      <dl className="engine-facts" data-testid="engine">
        <dt>Backbone</dt>
        <dd>
          {backbone.available ? (
            <span className="badge badge-status-succeeded">pretrained</span>
          ) : (
            <span className="badge badge-status-failed">from scratch</span>
          )}{" "}
          {backbone.detail}
        </dd>
        <dt>Next training</dt>
        <dd>
          <code>{model}</code>
        </dd>
        <dt>Evaluation sample</dt>
        <dd>
          {Math.round(evaluation.share * 100)} % of hand-outs are random pool images for val/test: {evaluation.val_images}{" "}
          val, {evaluation.test_images} test, {evaluation.credits_spent} credits spent on them
        </dd>
      </dl>
    );
  }
  return (
    <Panel title="Learning engine" testId="engine-panel">
      {body}
    </Panel>
  );
}
