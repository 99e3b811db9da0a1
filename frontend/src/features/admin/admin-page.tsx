import { NavLink, Navigate, useParams } from "react-router";
import type { Project } from "../../api/types";
import { ErrorMessage } from "../../components/error-message";
import { Spinner } from "../../components/spinner";
import { useProject } from "../projects";
import { DataTab } from "./tabs/data-tab";
import { MembersTab } from "./tabs/members-tab";
import { ModelTab } from "./tabs/model-tab";
import { OverviewTab } from "./tabs/overview-tab";
import { SettingsTab } from "./tabs/settings-tab";

/** One route per tab (`/projects/:id/admin-ui/:tab`): only the open tab mounts, so only its data loads. */
export const ADMIN_TABS = [
  { slug: "overview", title: "Overview", Component: OverviewTab },
  { slug: "data", title: "Data", Component: DataTab },
  { slug: "model", title: "Model", Component: ModelTab },
  { slug: "settings", title: "Settings", Component: SettingsTab },
  { slug: "members", title: "Members", Component: MembersTab },
] as const satisfies readonly { slug: string; title: string; Component: (props: { project: Project }) => unknown }[];

export function AdminPage() {
  const { projectId: rawId, tab } = useParams();
  const projectId = Number(rawId);
  const project = useProject(projectId);
  const current = ADMIN_TABS.find((t) => t.slug === tab);
  if (!current) return <Navigate to={`/projects/${projectId}/admin-ui/overview`} replace />;
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
  const { Component } = current;
  return (
    <div className="page">
      <div className="page-header">
        <h1>{project.data.name}</h1>
        <span className="muted">
          {project.data.task_type} · admin
          {project.data.archived_at ? <span className="badge badge-archived">archived</span> : null}
        </span>
      </div>
      <nav className="tabs" aria-label="Admin sections">
        {ADMIN_TABS.map((t) => (
          <NavLink key={t.slug} to={`/projects/${projectId}/admin-ui/${t.slug}`} className="tab">
            {t.title}
          </NavLink>
        ))}
      </nav>
      <div role="tabpanel" aria-label={current.title} data-testid={`tab-${current.slug}`}>
        <Component project={project.data} />
      </div>
    </div>
  );
}
