import { Link, NavLink, Outlet, useNavigate, useParams } from "react-router";
import { useMe, useLogout } from "../features/auth/api";
import { PAGE_TITLES, pagesForRole, useProject } from "../features/projects/api";

function ProjectNav({ projectId }: { projectId: number }) {
  const project = useProject(projectId);
  if (!project.data) return null;
  return (
    <nav className="topbar-project" aria-label="Project pages">
      <span className="topbar-project-name" title={project.data.name}>
        {project.data.name}
      </span>
      {pagesForRole(project.data.my_role).map((page) => (
        <NavLink key={page} to={`/projects/${projectId}/${page}`} className="topbar-link">
          {PAGE_TITLES[page]}
        </NavLink>
      ))}
    </nav>
  );
}

export function AppLayout() {
  const me = useMe();
  const logout = useLogout();
  const navigate = useNavigate();
  const { projectId } = useParams();
  const id = projectId ? Number(projectId) : undefined;
  return (
    <div className="shell">
      <header className="topbar">
        <Link to="/projects" className="brand">
          <span className="brand-mark" aria-hidden="true" />
          labelapp
        </Link>
        {id !== undefined && Number.isFinite(id) ? <ProjectNav projectId={id} /> : <span className="topbar-spacer" />}
        <div className="topbar-user">
          {me.data?.is_staff ? (
            <NavLink to="/users" className="topbar-link">
              Users
            </NavLink>
          ) : null}
          <span className="topbar-username">{me.data?.username}</span>
          <button
            type="button"
            className="btn btn-ghost btn-small"
            onClick={async () => {
              await logout();
              navigate("/login");
            }}
          >
            Log out
          </button>
        </div>
      </header>
      <main className="content">
        <Outlet />
      </main>
    </div>
  );
}
