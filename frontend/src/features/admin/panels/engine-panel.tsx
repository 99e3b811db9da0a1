import { useQuery } from "@tanstack/react-query";
import { ErrorMessage } from "../../../components/error-message";
import { Panel } from "../../../components/panel";
import type { EngineStatus } from "../../../api/types";
import { engineQuery } from "../api";

type ClassifierChoice = NonNullable<EngineStatus["classifier_choice"]>;
type Figure = ClassifierChoice["head"];

function figure(f: Figure | null | undefined): string {
  if (!f || f.accuracy == null) return "–";
  const [low, high] = f.interval ?? [];
  const interval = low !== undefined && high !== undefined ? ` [${low.toFixed(2)}–${high.toFixed(2)}]` : "";
  return `${f.accuracy.toFixed(2)}${interval} on ${f.images} images`;
}

/** Which classifier the active version is, and the two validation figures it was chosen by. */
function ChoiceFacts({ choice }: { choice: ClassifierChoice }) {
  return (
    <>
      <dt>Classifier (v{choice.model_version})</dt>
      <dd data-testid="classifier-choice">
        <code>{choice.chosen}</code>: {choice.reason}
        <br />
        val accuracy: head {figure(choice.head)}
        {choice.tried ? <>; fine-tuned {figure(choice.finetuned)}</> : null}
      </dd>
    </>
  );
}

/** Which engine trains this project (pretrained backbone or the from-scratch fallback, and
 * why), and what the random evaluation sample holds and has cost. */
export function EnginePanel({ projectId }: { projectId: number }) {
  const engine = useQuery(engineQuery(projectId));
  let body;
  if (engine.isPending) body = <p className="muted">Loading…</p>;
  else if (engine.isError) body = <ErrorMessage error={engine.error} />;
  else {
    const { backbone, model, evaluation, finetune, classifier_choice: choice } = engine.data;
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
          {model === "embedding_classifier" ? <> (fine-tuning: {finetune})</> : null}
        </dd>
        {choice ? <ChoiceFacts choice={choice} /> : null}
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
