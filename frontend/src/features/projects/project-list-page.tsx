import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "react-router";
import { api } from "../../api/client";
import type { Project } from "../../api/types";
import { ErrorMessage } from "../../components/error-message";
import { Spinner } from "../../components/spinner";
import { archivedProjectsQuery, PAGE_TITLES, pagesForRole, useProjects } from "./api";

/** Archived projects, each restorable by its admins. */
function ArchivedProjects() {
  const queryClient = useQueryClient();
  const archived = useQuery(archivedProjectsQuery);
  const [error, setError] = useState<unknown>(null);

  async function restore(project: Project) {
    setError(null);
    try {
      await api<Project>(`/api/projects/${project.id}`, { method: "PATCH", body: { archived: false } });
      await Promise.all([
        queryClient.invalidateQueries({ queryKey: archivedProjectsQuery.queryKey }),
        queryClient.invalidateQueries({ queryKey: ["projects"], exact: true }),
        queryClient.invalidateQueries({ queryKey: ["projects", project.id], exact: true }),
      ]);
    } catch (err) {
      setError(err);
    }
  }

  return (
    <section className="archived" aria-label="Archived projects" data-testid="archived-projects">
      <h2>Archived</h2>
      {error ? <ErrorMessage error={error} /> : null}
      {archived.isPending ? <Spinner label="Loading archived projects" /> : null}
      {archived.data?.length === 0 ? <p className="muted">No archived projects.</p> : null}
      <ul className="archived-list">
        {archived.data?.map((project) => (
          <li key={project.id} data-testid={`archived-${project.id}`}>
            <span className="project-name">{project.name}</span>
            <span className="muted small">{project.task_type}</span>
            {project.my_role === "admin" ? (
              <button type="button" className="btn btn-small" onClick={() => void restore(project)}>
                Restore
              </button>
            ) : (
              <span className="muted small">ask an admin to restore it</span>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

export function ProjectListPage() {
  const projects = useProjects();
  const [showArchived, setShowArchived] = useState(false);
  if (projects.isPending) return <Spinner label="Loading projects" />;
  if (projects.isError) return <ErrorMessage error={projects.error} />;
  return (
    <div className="page">
      <div className="page-header">
        <h1>Projects</h1>
        <span className="muted">{projects.data.length} project{projects.data.length === 1 ? "" : "s"}</span>
        <span className="grow" />
        <label className="field-check small">
          <input type="checkbox" checked={showArchived} onChange={(e) => setShowArchived(e.target.checked)} /> Show archived
        </label>
        <Link to="/projects/new" className="btn btn-primary">
          New project
        </Link>
      </div>
      {projects.data.length === 0 ? (
        <div className="empty-state">
          <p>No active projects.</p>
          <p className="muted">Create one, or ask a project admin to add you. Archived projects are under "Show archived".</p>
          <div className="row">
            <Link to="/projects/new" className="btn btn-primary">
              Create a project
            </Link>
          </div>
        </div>
      ) : (
        <ul className="project-grid">
          {projects.data.map((project) => (
            <li key={project.id} className="project-card" data-testid={`project-${project.id}`}>
              <div className="project-card-head">
                <h2 className="project-name">{project.name}</h2>
                <span className={`badge badge-role-${project.my_role}`}>{project.my_role}</span>
              </div>
              {project.description ? <p className="project-description">{project.description}</p> : null}
              <dl className="project-facts">
                <div>
                  <dt>Task</dt>
                  <dd>{project.task_type}</dd>
                </div>
                <div>
                  <dt>Credits left</dt>
                  <dd data-testid="credits-left">{project.balance.available}</dd>
                </div>
                <div>
                  <dt>Spent</dt>
                  <dd>
                    {project.balance.spent} / {project.balance.granted}
                  </dd>
                </div>
              </dl>
              <div className="project-links">
                {pagesForRole(project.my_role).map((page, index) => (
                  <Link
                    key={page}
                    to={`/projects/${project.id}/${page}`}
                    className={index === 0 ? "btn btn-primary btn-small" : "btn btn-small"}
                  >
                    {PAGE_TITLES[page]}
                  </Link>
                ))}
              </div>
            </li>
          ))}
        </ul>
      )}
      {showArchived ? <ArchivedProjects /> : null}
    </div>
  );
}
