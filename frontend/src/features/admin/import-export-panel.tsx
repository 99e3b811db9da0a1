import { useQuery, useQueryClient, type QueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState, type FormEvent } from "react";
import { Link } from "react-router";
import { api } from "../../api/client";
import type { ImportJob, Project } from "../../api/types";
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

/** What the import accepts; the server tells the format from the archive's files. */
export const IMPORT_FORMATS: { label: string; taskTypes: Project["task_type"][]; layout: string }[] = [
  { label: "COCO", taskTypes: ["detection"], layout: "one COCO JSON file and its images (in images/, beside it, or anywhere)." },
  {
    label: "YOLO",
    taskTypes: ["detection"],
    layout: "data.yaml (or classes.txt), images/…/a.jpg and labels/…/a.txt with one “class cx cy w h” line per box, normalised to 0–1.",
  },
  {
    label: "CSV",
    taskTypes: ["detection"],
    layout: "one CSV file with the columns file_name, label_class, x, y, w, h (pixels; one row per box), and its images.",
  },
  { label: "Folders", taskTypes: ["classification"], layout: "one folder per class: cat/1.jpg, dog/2.jpg." },
  { label: "CSV", taskTypes: ["classification"], layout: "one CSV file with the columns file_name and label_class, and its images." },
];

export const POLL_MS = 1000;

/**
 * An import adds images, labels and classes, so every count of the project may have changed
 * (health, stats, the data browser, the review queue, the project list's card). The import jobs
 * themselves are left alone: refetching a finished job would only report it finished again.
 */
export function refreshAfterImport(queryClient: QueryClient, projectId: number) {
  return Promise.all([
    queryClient.invalidateQueries({
      queryKey: ["projects", projectId],
      predicate: (query) => query.queryKey[2] !== "imports",
    }),
    queryClient.invalidateQueries({ queryKey: ["projects"], exact: true }),
  ]);
}

export function ImportStatus({ projectId, answer }: { projectId: number; answer: ImportJob }) {
  const queryClient = useQueryClient();
  const jobId = answer.id;
  // The job as the server reports it now: polled until it succeeds or fails.
  const job = useQuery({
    queryKey: ["projects", projectId, "imports", jobId],
    queryFn: () => api<ImportJob>(`/api/projects/${projectId}/imports/${jobId}`),
    initialData: answer,
    refetchInterval: (query) => (query.state.data && isFinished(query.state.data) ? false : POLL_MS),
  });
  const current = job.data ?? answer;
  const finished = isFinished(current);
  // Also when the answer itself is already finished (a fast import): then there is no poll at all.
  useEffect(() => {
    if (finished) void refreshAfterImport(queryClient, projectId);
  }, [finished, queryClient, projectId]);
  const view = importView(current);
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

export function ImportExportPanel({ projectId, taskType }: { projectId: number; taskType: Project["task_type"] }) {
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
        A ZIP of labeled images in one of these formats (the exports below import back). Imported labels are free: they spend
        no credits. Unlabeled images go through <Link to={`/projects/${projectId}/upload`}>Upload</Link>.
      </p>
      <ul className="muted small import-formats" aria-label="Import formats">
        {IMPORT_FORMATS.filter((f) => f.taskTypes.includes(taskType)).map((f) => (
          <li key={f.label}>
            <strong>{f.label}</strong>: {f.layout}
          </li>
        ))}
      </ul>
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
