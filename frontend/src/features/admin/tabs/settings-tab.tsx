import { useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import { api } from "../../../api/client";
import type { Project } from "../../../api/types";
import { ErrorMessage } from "../../../components/error-message";
import { Panel } from "../../../components/panel";
import { archivedProjectsQuery } from "../../projects";
import { ClassesPanel } from "../panels/classes-panel";
import { SettingsForm } from "../settings-form";

/** Archive (hidden, restorable) or delete (gone, after typing the project's name). */
function ProjectLifecycle({ project }: { project: Project }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [confirmName, setConfirmName] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const archived = Boolean(project.archived_at);
  const invalidateLists = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: ["projects"], exact: true }),
      queryClient.invalidateQueries({ queryKey: archivedProjectsQuery.queryKey }),
    ]);

  async function setArchived(next: boolean) {
    if (next && !window.confirm(`Archive ${project.name}? It leaves the project list; you can restore it from "Show archived".`)) return;
    setBusy(true);
    setError(null);
    try {
      const updated = await api<Project>(`/api/projects/${project.id}`, { method: "PATCH", body: { archived: next } });
      queryClient.setQueryData(["projects", project.id], updated);
      await invalidateLists();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  async function onDelete(event: FormEvent) {
    event.preventDefault();
    if (confirmName !== project.name) return;
    setBusy(true);
    setError(null);
    try {
      await api<null>(`/api/projects/${project.id}`, { method: "DELETE" });
      queryClient.removeQueries({ queryKey: ["projects", project.id] });
      await invalidateLists();
      navigate("/projects", { replace: true });
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  return (
    <Panel title="Archive or delete" testId="lifecycle-panel">
      <div className="lifecycle-row">
        <div>
          <strong>{archived ? "Archived" : "Archive"}</strong>
          <p className="muted small">
            {archived
              ? "Hidden from the project list. Everything in it is kept."
              : "Hide the project from the project list. Nothing is deleted; restore it any time."}
          </p>
        </div>
        <button type="button" className="btn" disabled={busy} onClick={() => void setArchived(!archived)}>
          {archived ? "Restore" : "Archive"}
        </button>
      </div>
      <form className="lifecycle-delete" onSubmit={onDelete} aria-label="Delete project">
        <strong>Delete</strong>
        <p className="muted small">
          Deletes every image, label, model and credit entry of this project, for good. Type <code>{project.name}</code> to
          confirm.
        </p>
        <div className="inline-form">
          <label className="field grow">
            <span>Project name</span>
            <input name="confirm" value={confirmName} onChange={(e) => setConfirmName(e.target.value)} autoComplete="off" />
          </label>
          <button type="submit" className="btn btn-danger" disabled={busy || confirmName !== project.name}>
            Delete project
          </button>
        </div>
      </form>
      {error ? <ErrorMessage error={error} /> : null}
    </Panel>
  );
}

export function SettingsTab({ project }: { project: Project }) {
  return (
    <div className="panel-stack">
      <SettingsForm project={project} />
      <div className="panel-grid">
        <ClassesPanel projectId={project.id} />
        <ProjectLifecycle project={project} />
      </div>
    </div>
  );
}
