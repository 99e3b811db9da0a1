import { Link } from "react-router";
import { ErrorMessage } from "../../components/error-message";
import { Spinner } from "../../components/spinner";
import { PAGE_TITLES, pagesForRole, useProjects } from "./api";

export function ProjectListPage() {
  const projects = useProjects();
  if (projects.isPending) return <Spinner label="Loading projects" />;
  if (projects.isError) return <ErrorMessage error={projects.error} />;
  return (
    <div className="page">
      <div className="page-header">
        <h1>Projects</h1>
        <span className="muted">{projects.data.length} project{projects.data.length === 1 ? "" : "s"}</span>
      </div>
      {projects.data.length === 0 ? (
        <div className="empty-state">
          <p>You are not a member of any project yet.</p>
          <p className="muted">Ask a project admin to add you.</p>
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
    </div>
  );
}
