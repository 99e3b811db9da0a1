import type { Project } from "../../../api/types";
import { useStats } from "../../projects";
import { CreditsPanel } from "../panels/credits-panel";
import { LearningCurvePanel } from "../panels/learning-curve-panel";

function StatusSummary({ projectId }: { projectId: number }) {
  const stats = useStats(projectId);
  if (!stats.data) return null;
  const entries = Object.entries(stats.data.images_by_status);
  const total = entries.reduce((sum, [, n]) => sum + n, 0);
  return (
    <dl className="summary" data-testid="status-summary">
      <div>
        <dt>Images</dt>
        <dd>{total}</dd>
      </div>
      {entries.map(([status, n]) => (
        <div key={status}>
          <dt>{status.replaceAll("_", " ")}</dt>
          <dd>{n}</dd>
        </div>
      ))}
    </dl>
  );
}

/** Where the project stands: images by status, the budget, and what the labels bought. */
export function OverviewTab({ project }: { project: Project }) {
  return (
    <>
      <StatusSummary projectId={project.id} />
      <div className="panel-grid">
        <CreditsPanel projectId={project.id} fallback={project.balance} />
        <LearningCurvePanel projectId={project.id} taskType={project.task_type} />
      </div>
    </>
  );
}
