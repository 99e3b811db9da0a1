import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useRef, useState, type FormEvent } from "react";
import { Link } from "react-router";
import { api } from "../../api/client";
import type { ImportJob } from "../../api/types";
import { uploadForm } from "../../api/upload";
import { ErrorMessage } from "../../components/error-message";
import { Panel } from "../../components/panel";
import { ProgressBar } from "../../components/progress-bar";
import { importView, isFinished } from "./import-progress";

const EXPORTS = [
  { format: "coco", label: "COCO JSON", hint: "labels and boxes" },
  { format: "yolo", label: "YOLO ZIP", hint: "images and label files" },
  { format: "csv", label: "CSV", hint: "one row per label" },
] as const;

export const POLL_MS = 1000;

export function ImportStatus({ projectId, answer }: { projectId: number; answer: ImportJob }) {
  const queryClient = useQueryClient();
  const jobId = answer.id;
  // The job as the server reports it now: polled until it succeeds or fails.
  const job = useQuery({
    queryKey: ["projects", projectId, "imports", jobId],
    queryFn: async () => {
      const latest = await api<ImportJob>(`/api/projects/${projectId}/imports/${jobId}`);
      if (isFinished(latest)) void queryClient.invalidateQueries({ queryKey: ["projects", projectId, "stats"] });
      return latest;
    },
    initialData: answer,
    refetchInterval: (query) => (query.state.data && isFinished(query.state.data) ? false : POLL_MS),
  });
  const view = importView(job.data ?? answer);
  const errors = job.data?.errors ?? [];
  return (
    <div className={`import-status import-${view.tone}`} data-testid="import-status" aria-live="polite">
      <strong>{view.headline}</strong>
      {view.tone === "progress" ? <ProgressBar value={view.fraction ?? 0} label={view.headline} /> : null}
      {view.facts.length ? <p className="muted small">{view.facts.join(" · ")}</p> : null}
      {errors.length ? (
        <ul className="import-errors">
          {errors.slice(0, 20).map((e, i) => (
            <li key={i}>
              <code>{e.file}</code>
              {e.annotation !== null && e.annotation !== undefined ? ` (annotation ${e.annotation})` : ""}: {e.detail}
            </li>
          ))}
          {errors.length > 20 ? <li className="muted">…and {errors.length - 20} more</li> : null}
        </ul>
      ) : null}
      {job.isError ? <ErrorMessage error={job.error} /> : null}
    </div>
  );
}

export function ImportExportPanel({ projectId }: { projectId: number }) {
  const input = useRef<HTMLInputElement>(null);
  const [file, setFile] = useState<File | null>(null);
  const [sent, setSent] = useState<number | null>(null);
  const [answer, setAnswer] = useState<ImportJob | null>(null);
  const [error, setError] = useState<unknown>(null);

  async function onImport(event: FormEvent) {
    event.preventDefault();
    if (!file) return;
    const form = new FormData();
    form.append("file", file);
    setError(null);
    setAnswer(null);
    setSent(0);
    try {
      const result = await uploadForm<ImportJob>(`/api/projects/${projectId}/import`, form, setSent).promise;
      setAnswer(result);
      setFile(null);
      if (input.current) input.current.value = "";
    } catch (err) {
      setError(err);
    } finally {
      setSent(null);
    }
  }

  return (
    <Panel title="Import and export" testId="import-export-panel">
      <h3>Import labeled data</h3>
      <p className="muted small">
        A ZIP with one COCO JSON file and its images (detection), or one folder per class (classification). Imported labels are
        free: they spend no credits. Unlabeled images go through <Link to={`/projects/${projectId}/upload`}>Upload</Link>.
      </p>
      <form className="inline-form" onSubmit={onImport} aria-label="Import a dataset">
        <label className="field grow">
          <span>Archive</span>
          <input
            ref={input}
            type="file"
            name="file"
            accept=".zip,application/zip"
            onChange={(e) => setFile(e.target.files?.[0] ?? null)}
          />
        </label>
        <button type="submit" className="btn btn-primary" disabled={!file || sent !== null}>
          {sent !== null ? "Sending…" : "Import"}
        </button>
      </form>
      {sent !== null ? <ProgressBar value={sent} label={`Sending the archive: ${Math.round(sent * 100)}%`} /> : null}
      {error ? <ErrorMessage error={error} title="Import refused" /> : null}
      {answer ? <ImportStatus projectId={projectId} answer={answer} /> : null}
      <h3 className="section-gap">Export labels</h3>
      <ul className="export-list">
        {EXPORTS.map(({ format, label, hint }) => (
          <li key={format}>
            <a className="btn btn-small" href={`/api/projects/${projectId}/export?format=${format}`} download>
              {label}
            </a>
            <span className="muted small">{hint}</span>
          </li>
        ))}
      </ul>
    </Panel>
  );
}
