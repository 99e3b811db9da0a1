import { Link, useSearchParams } from "react-router";
import type { Project } from "../../../api/types";
import { Panel } from "../../../components/panel";
import { ImportExportPanel } from "../import-export-panel";
import { HealthPanel } from "../panels/health-panel";

/** The data: bring it in (upload, import), take it out (export), and check its health. */
export function DataTab({ project }: { project: Project }) {
  const [params] = useSearchParams();
  return (
    <>
      {params.get("created") ? (
        <div className="alert alert-success" data-testid="project-created">
          <strong>{project.name}</strong> is ready. Add data now:{" "}
          <Link to={`/projects/${project.id}/upload`}>upload images</Link> to label, or import a labeled dataset below.
        </div>
      ) : null}
      <div className="panel-grid">
        <Panel title="Browse and review" testId="browse-panel">
          <p>
            <Link to={`/projects/${project.id}/data`}>Open the data browser</Link>: every image with its label, the
            model's prediction, suspected label errors and the history of each label; filter, sort, fix.
          </p>
          <p>
            <Link to={`/projects/${project.id}/review`}>Open the review queue</Link>: approve, fix or reject labels, the
            most suspect first.
          </p>
        </Panel>
        <ImportExportPanel projectId={project.id} taskType={project.task_type} />
        <HealthPanel projectId={project.id} />
      </div>
    </>
  );
}
