import type { Project } from "../../../api/types";
import { EnginePanel } from "../panels/engine-panel";
import { ModelVersionsPanel } from "../panels/model-versions-panel";
import { RescorePanel } from "../panels/rescore-panel";
import { SynthesisPanel } from "../panels/synthesis-panel";
import { TrainingPanel } from "../panels/training-panel";

/** The model: train now, watch the rescore, compare versions, synthesise images for weak spots. */
export function ModelTab({ project }: { project: Project }) {
  return (
    <div className="panel-grid">
      <EnginePanel projectId={project.id} />
      <TrainingPanel projectId={project.id} />
      <RescorePanel projectId={project.id} />
      <ModelVersionsPanel projectId={project.id} />
      <SynthesisPanel projectId={project.id} />
    </div>
  );
}
