import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useReducer, useRef, useState, type DragEvent } from "react";
import { useParams } from "react-router";
import { api } from "../../api/client";
import type { ImageUploadResult, UploadDuplicatesReport } from "../../api/types";
import { uploadForm } from "../../api/upload";
import { ErrorMessage } from "../../components/error-message";
import { Spinner } from "../../components/spinner";
import { useProject } from "../projects";
import {
  createdIds,
  filesFromDataTransfer,
  nearDuplicateLines,
  outcomeOfError,
  outcomeOfSuccess,
  summarize,
  uploadReducer,
  type UploadItem,
} from "./upload-state";

const CONCURRENCY = 2;
/** How often to ask again while the worker has not checked every new image. */
const REPORT_POLL_MS = 3000;

/** The worker checks new images for near-duplicates shortly after upload: ask until it has. */
function NearDuplicatesPanel({ projectId, ids }: { projectId: number; ids: number[] }) {
  const report = useQuery({
    queryKey: ["projects", projectId, "near-duplicates", ids.join(",")],
    queryFn: () => api<UploadDuplicatesReport>(`/api/projects/${projectId}/images/near-duplicates?ids=${ids.join(",")}`),
    refetchInterval: (query) => (query.state.data?.pending.length ? REPORT_POLL_MS : false),
    placeholderData: (previous) => previous,
  });
  if (report.isError) return <ErrorMessage error={report.error} />;
  if (!report.data) return null;
  const { lines, status } = nearDuplicateLines(report.data);
  return (
    <section className="panel" aria-label="Near-duplicates" data-testid="near-duplicates">
      <header className="panel-header">
        <h2>Near-duplicates</h2>
      </header>
      <div className="panel-body">
        <p className="muted small">{status}</p>
        {lines.length > 0 ? (
          <ul className="problem-list">
            {lines.map((line) => (
              <li key={line} className="problem">
                <span className="badge badge-upload-duplicate">Looks alike</span>
                <span className="problem-reason">{line}</span>
              </li>
            ))}
          </ul>
        ) : null}
      </div>
    </section>
  );
}

const STATUS_TEXT: Record<UploadItem["status"], string> = {
  queued: "Queued",
  uploading: "Uploading",
  created: "Uploaded",
  duplicate: "Duplicate",
  rejected: "Rejected",
  failed: "Failed",
};

function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function UploadPage() {
  const projectId = Number(useParams().projectId);
  const project = useProject(projectId);
  const queryClient = useQueryClient();
  const [items, dispatch] = useReducer(uploadReducer, []);
  const [dragging, setDragging] = useState(false);
  const active = useRef(new Set<string>());
  const fileInput = useRef<HTMLInputElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);

  // One request per file, at most CONCURRENCY at a time.
  useEffect(() => {
    const free = CONCURRENCY - active.current.size;
    if (free <= 0) return;
    const next = items.filter((i) => i.status === "queued" && !active.current.has(i.key)).slice(0, free);
    for (const item of next) {
      active.current.add(item.key);
      dispatch({ type: "start", key: item.key });
      const form = new FormData();
      form.append("files", item.file, item.file.name);
      const handle = uploadForm<ImageUploadResult>(`/api/projects/${projectId}/images`, form, (progress) =>
        dispatch({ type: "progress", key: item.key, progress }),
      );
      handle.promise
        .then((result) => dispatch({ type: "finish", key: item.key, ...outcomeOfSuccess(result) }))
        .catch((error: unknown) => dispatch({ type: "finish", key: item.key, ...outcomeOfError(error, item.file.name) }))
        .finally(() => {
          active.current.delete(item.key);
          void queryClient.invalidateQueries({ queryKey: ["projects", projectId, "stats"] });
        });
    }
  }, [items, projectId, queryClient]);

  if (project.isPending) return <Spinner label="Loading project" />;
  if (project.isError) return <ErrorMessage error={project.error} />;

  const addFiles = (files: { file: File; path: string }[]) => {
    if (files.length > 0) dispatch({ type: "add", files });
  };
  const onDrop = async (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    addFiles(await filesFromDataTransfer(event.dataTransfer));
  };
  const counts = summarize(items);
  const uploadedIds = createdIds(items);
  const problems = items.filter((i) => i.status === "duplicate" || i.status === "rejected" || i.status === "failed");

  return (
    <div className="page">
      <div className="page-header">
        <h1>Upload images</h1>
        <span className="muted">{project.data.name}</span>
      </div>
      <div
        className={dragging ? "dropzone is-dragging" : "dropzone"}
        data-testid="dropzone"
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <p className="dropzone-title">Drop images or a folder here</p>
        <p className="muted small">
          One request per file; exact duplicates are detected by content hash, look-alikes (re-encoded, resized,
          brightened copies) by the worker shortly after.
        </p>
        <div className="row center">
          <button type="button" className="btn btn-primary" onClick={() => fileInput.current?.click()}>
            Choose files
          </button>
          <button type="button" className="btn" onClick={() => folderInput.current?.click()}>
            Choose a folder
          </button>
        </div>
        <input
          ref={fileInput}
          type="file"
          multiple
          accept="image/*"
          hidden
          data-testid="file-input"
          onChange={(e) => {
            addFiles(Array.from(e.target.files ?? []).map((file) => ({ file, path: file.name })));
            e.target.value = "";
          }}
        />
        <input
          ref={folderInput}
          type="file"
          multiple
          hidden
          {...{ webkitdirectory: "", directory: "" }}
          onChange={(e) => {
            addFiles(
              Array.from(e.target.files ?? [])
                .filter((file) => !file.name.startsWith("."))
                .map((file) => ({ file, path: file.webkitRelativePath || file.name })),
            );
            e.target.value = "";
          }}
        />
      </div>

      {items.length > 0 ? (
        <>
          <div className="upload-summary" data-testid="upload-summary">
            <span>{counts.created} uploaded</span>
            <span>
              {counts.duplicate} duplicate{counts.duplicate === 1 ? "" : "s"}
            </span>
            <span>{counts.rejected} rejected</span>
            {counts.failed ? <span>{counts.failed} failed</span> : null}
            {counts.queued + counts.uploading ? <span>{counts.queued + counts.uploading} in progress</span> : null}
            <button type="button" className="btn btn-small btn-ghost" onClick={() => dispatch({ type: "clearFinished" })}>
              Clear finished
            </button>
          </div>
          {/* Asked once the uploads are done: one report for the whole set, not one per file. */}
          {uploadedIds.length > 0 && counts.queued + counts.uploading === 0 ? (
            <NearDuplicatesPanel projectId={projectId} ids={uploadedIds} />
          ) : null}
          {problems.length > 0 ? (
            <section className="panel" aria-label="Duplicates and rejected files">
              <header className="panel-header">
                <h2>Duplicates and rejected files</h2>
              </header>
              <ul className="problem-list" data-testid="problems">
                {problems.map((item) => (
                  <li key={item.key} className={`problem problem-${item.status}`}>
                    <span className={`badge badge-upload-${item.status}`}>{STATUS_TEXT[item.status]}</span>
                    <span className="problem-name">{item.path}</span>
                    <span className="problem-reason">{item.reason}</span>
                  </li>
                ))}
              </ul>
            </section>
          ) : null}
          <ul className="upload-list" data-testid="upload-list">
            {items.map((item) => (
              <li key={item.key} className={`upload-item upload-${item.status}`} data-status={item.status}>
                <span className="upload-name" title={item.path}>
                  {item.path}
                </span>
                <span className="upload-size muted small">{formatSize(item.file.size)}</span>
                <span className="upload-bar" aria-hidden="true">
                  <span style={{ width: `${Math.round(item.progress * 100)}%` }} />
                </span>
                <span className={`badge badge-upload-${item.status}`}>{STATUS_TEXT[item.status]}</span>
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </div>
  );
}
