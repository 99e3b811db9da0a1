import type { Project } from "../../../api/types";
import { AnnotatorStatsPanel } from "../../data";
import { MembersPanel } from "../panels/members-panel";

export function MembersTab({ project }: { project: Project }) {
  return (
    <div className="panel-grid">
      <MembersPanel projectId={project.id} />
      <AnnotatorStatsPanel projectId={project.id} />
    </div>
  );
}
