import { useParams } from "react-router";
import { ErrorMessage } from "../../components/error-message";
import { Spinner } from "../../components/spinner";
import { useProject, useStats } from "../projects/api";
import { ClassesPanel } from "./panels/classes-panel";
import { CreditsPanel } from "./panels/credits-panel";
import { HealthPanel } from "./panels/health-panel";
import { LearningCurvePanel } from "./panels/learning-curve-panel";
import { MembersPanel } from "./panels/members-panel";
import { ModelVersionsPanel } from "./panels/model-versions-panel";
import { RescorePanel } from "./panels/rescore-panel";
import { SettingsPanel } from "./panels/settings-panel";
import { SynthesisPanel } from "./panels/synthesis-panel";
import { TrainingPanel } from "./panels/training-panel";

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

export function AdminPage() {
  const projectId = Number(useParams().projectId);
  const project = useProject(projectId);
  if (project.isPending) return <Spinner label="Loading project" />;
  if (project.isError) return <ErrorMessage error={project.error} />;
  if (project.data.my_role !== "admin") {
    return (
      <div className="page narrow">
        <div className="empty-state">
          <h1>Admins only</h1>
          <p className="muted">You are {project.data.my_role} in this project.</p>
        </div>
      </div>
    );
  }
  return (
    <div className="page">
      <div className="page-header">
        <h1>{project.data.name}</h1>
        <span className="muted">{project.data.task_type} · admin</span>
      </div>
      <StatusSummary projectId={projectId} />
      <div className="panel-grid">
        <CreditsPanel projectId={projectId} fallback={project.data.balance} />
        <SettingsPanel project={project.data} />
        <div className="panel-stack">
          <MembersPanel projectId={projectId} />
          <ClassesPanel projectId={projectId} />
        </div>
        <TrainingPanel projectId={projectId} />
        <RescorePanel projectId={projectId} />
        <ModelVersionsPanel projectId={projectId} />
        <LearningCurvePanel projectId={projectId} taskType={project.data.task_type} />
        <HealthPanel projectId={projectId} />
        <SynthesisPanel projectId={projectId} />
      </div>
    </div>
  );
}
