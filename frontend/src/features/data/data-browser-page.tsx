import { useInfiniteQuery, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useParams, useSearchParams } from "react-router";
import type { BrowserItem, LabelClass } from "../../api/types";
import { ErrorMessage } from "../../components/error-message";
import { Spinner } from "../../components/spinner";
import { membersQuery } from "../admin";
import { useClasses, useProject } from "../projects";
import { editLabel, fetchBrowserPage, fetchImageRecord, FILTER_KEYS, setGold, type BrowserQuery, type LabelInput } from "./api";
import { ImageRecordView, LabelEditor } from "./image-record-view";
import { labelSummary } from "./label-text";

const STATUSES = ["unlabeled", "reserved", "labeled", "auto_labeled", "skipped"];
const SPLITS = ["pool", "train", "val", "test"];
const SOURCES = ["upload", "import", "stream", "production", "synthetic"];

function queryFromParams(params: URLSearchParams): BrowserQuery {
  const query: BrowserQuery = {};
  for (const key of FILTER_KEYS) {
    const value = params.get(key);
    if (value) (query as Record<string, string>)[key] = value;
  }
  if (params.get("disagreement") === "true") query.disagreement = true;
  if (params.get("suspected") === "true") query.suspected = true;
  if (params.get("near_duplicates") === "true") query.near_duplicates = true;
  return query;
}

function Select({ id, label, value, options, onChange }: {
  id: string; label: string; value: string; options: { value: string; label: string }[]; onChange: (value: string) => void;
}) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">any</option>
        {options.map((o) => <option key={o.value} value={o.value}>{o.label}</option>)}
      </select>
    </div>
  );
}

function Thumbnail({ item, classById, suspectThreshold, onOpen, onGroup }: {
  item: BrowserItem; classById: ReadonlyMap<number, LabelClass>; suspectThreshold: number; onOpen: () => void; onGroup: (imageId: number) => void;
}) {
  const label = item.label_class != null
    ? labelSummary(item.label_class, [], classById)
    : item.box_count != null ? `${item.box_count} box${item.box_count === 1 ? "" : "es"}` : item.status;
  // The project's threshold (Settings), the one the "Suspected errors" filter and the review queue use.
  const suspect = item.suspicion != null && item.suspicion >= suspectThreshold;
  return (
    <li className="thumb-item">
      <button type="button" className={suspect ? "thumb is-suspect" : "thumb"} onClick={onOpen}
        data-testid={`thumb-${item.id}`} title={item.suspicion_reason || item.original_name}>
        <img src={item.thumbnail_url} alt={item.original_name} loading="lazy" />
        <span className="thumb-caption">
          <span className="thumb-label">{label}</span>
          {item.suspicion != null ? <span className="thumb-score">{(item.suspicion * 100).toFixed(0)}%</span> : null}
        </span>
      </button>
      {item.near_duplicate_of != null ? (
        <button type="button" className="thumb-group" data-testid={`group-${item.id}`} onClick={() => onGroup(item.near_duplicate_of!)}
          title={`A near-duplicate of image ${item.near_duplicate_of}: show that image and its near-duplicates`}>
          ≈ near-duplicate group
        </button>
      ) : null}
    </li>
  );
}

/** An opened image: its record, and (for admins and reviewers) a form that saves a new revision. */
function OpenedImage({ projectId, imageId, onClose }: { projectId: number; imageId: number; onClose: () => void }) {
  const queryClient = useQueryClient();
  const project = useProject(projectId);
  const classes = useClasses(projectId);
  const key = ["projects", projectId, "data", "record", imageId];
  const record = useQuery({ queryKey: key, queryFn: () => fetchImageRecord(projectId, imageId) });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const [draft, setDraft] = useState<LabelInput["boxes"]>(null);

  if (record.isPending || classes.isPending || project.isPending) return <Spinner label="Loading the image" />;
  if (record.isError) return <ErrorMessage error={record.error} />;
  if (classes.isError || project.isError) return <ErrorMessage error={classes.error ?? project.error} />;

  const run = async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      queryClient.setQueryData(key, await action());
      void queryClient.invalidateQueries({ queryKey: ["projects", projectId, "data", "pages"] });
      return true;
    } catch (err) {
      setError(err);
      return false;
    } finally {
      setBusy(false);
    }
  };
  const save = async (input: LabelInput) => setSaved(await run(() => editLabel(projectId, imageId, input)));
  const isAdmin = project.data.my_role === "admin";
  return (
    <div className="record-overlay" role="dialog" aria-label={`Image ${record.data.image.original_name}`}>
      <ImageRecordView record={record.data} classes={classes.data} draftBoxes={draft}>
        <section className="sidebar-card sidebar-actions">
          <div className="row">
            <h3 className="grow">Edit the label</h3>
            <button type="button" className="btn btn-small" onClick={onClose}>Close</button>
          </div>
          {record.data.label ? (
            <>
              <LabelEditor record={record.data} classes={classes.data} taskType={project.data.task_type} busy={busy}
                submitLabel="Save as a new revision" onSubmit={(input) => void save(input)} onDraft={setDraft} />
              {saved ? <p className="alert alert-success" role="status">Saved: the next training uses the new label.</p> : null}
            </>
          ) : <p className="muted small">Only labeled images can be edited here; label it from the queue.</p>}
          {isAdmin && record.data.label ? (
            <div className="row">
              {record.data.gold ? <span className="badge gold-badge" data-testid="gold-badge">gold item</span> : null}
              <button type="button" className="btn btn-small" disabled={busy}
                title="Annotators get gold items now and then (Settings: gold_rate); their answers are scored against this label."
                onClick={() => void run(() => setGold(projectId, imageId, !record.data.gold))}>
                {record.data.gold ? "Stop using as gold" : "Mark as gold (this label is the truth)"}
              </button>
            </div>
          ) : null}
          {error ? <ErrorMessage error={error} /> : null}
        </section>
      </ImageRecordView>
    </div>
  );
}

export function DataBrowserPage() {
  const projectId = Number(useParams().projectId);
  const [params, setParams] = useSearchParams();
  const query = queryFromParams(params);
  const classes = useClasses(projectId);
  const project = useProject(projectId);
  const members = useQuery(membersQuery(projectId));
  const labelers = (members.data ?? []).filter((m) => m.role === "annotator" || m.role === "admin");
  const pages = useInfiniteQuery({
    queryKey: ["projects", projectId, "data", "pages", query],
    queryFn: ({ pageParam }) => fetchBrowserPage(projectId, query, pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const opened = Number(params.get("image")) || null;

  const set = (key: string, value: string | boolean) => {
    const next = new URLSearchParams(params);
    if (value === "" || value === false) next.delete(key);
    else next.set(key, String(value));
    next.delete("image");
    setParams(next);
  };
  const open = (imageId: number | null) => {
    const next = new URLSearchParams(params);
    if (imageId === null) next.delete("image");
    else next.set("image", String(imageId));
    setParams(next);
  };
  const classById = new Map((classes.data ?? []).map((c) => [c.id, c]));
  const suspectThreshold = project.data?.settings.suspect_threshold ?? 0.5;
  const items = pages.data?.pages.flatMap((p) => p.results) ?? [];

  if (opened) return <OpenedImage projectId={projectId} imageId={opened} onClose={() => open(null)} />;
  return (
    <div className="page" data-testid="data-browser">
      <div className="page-header">
        <h1>Data</h1>
        <span className="muted">Every image, its label and how suspect the model finds it.</span>
      </div>
      <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filters">
        <div className="field">
          <label htmlFor="f-sort">Sort</label>
          <select id="f-sort" value={query.sort ?? "newest"} onChange={(e) => set("sort", e.target.value === "newest" ? "" : e.target.value)}>
            <option value="newest">newest</option>
            <option value="priority">priority</option>
            <option value="suspicion">suspicion</option>
          </select>
        </div>
        <Select id="f-status" label="Status" value={query.status ?? ""} options={STATUSES.map((s) => ({ value: s, label: s.replace("_", " ") }))} onChange={(v) => set("status", v)} />
        <Select id="f-split" label="Split" value={query.split ?? ""} options={SPLITS.map((s) => ({ value: s, label: s }))} onChange={(v) => set("split", v)} />
        <Select id="f-source" label="Source" value={query.source ?? ""} options={SOURCES.map((s) => ({ value: s, label: s }))} onChange={(v) => set("source", v)} />
        <Select id="f-class" label="Class" value={query.label_class ?? ""} options={(classes.data ?? []).map((c) => ({ value: String(c.id), label: c.name }))} onChange={(v) => set("label_class", v)} />
        <Select id="f-annotator" label="Annotator" value={query.annotator ?? ""} options={labelers.map((m) => ({ value: String(m.user.id), label: m.user.username }))} onChange={(v) => set("annotator", v)} />
        <div className="field">
          <label htmlFor="f-from">Uploaded from</label>
          <input id="f-from" type="date" value={query.created_from ?? ""} onChange={(e) => set("created_from", e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="f-to">to</label>
          <input id="f-to" type="date" value={query.created_to ?? ""} onChange={(e) => set("created_to", e.target.value)} />
        </div>
        <label className="field field-check">
          <input type="checkbox" checked={!!query.suspected} onChange={(e) => set("suspected", e.target.checked)} /> Suspected errors
        </label>
        <label className="field field-check">
          <input type="checkbox" checked={!!query.disagreement} onChange={(e) => set("disagreement", e.target.checked)} /> Model disagrees
        </label>
        <label className="field field-check">
          <input type="checkbox" checked={!!query.near_duplicates} onChange={(e) => set("near_duplicates", e.target.checked)} /> Near-duplicates
        </label>
        {query.duplicate_group ? (
          <div className="field field-check filter-group" data-testid="group-filter">
            <span>Near-duplicate group of image {query.duplicate_group}</span>
            <button type="button" className="btn btn-small" onClick={() => set("duplicate_group", "")}>Show all</button>
          </div>
        ) : null}
      </form>
      {pages.isPending ? <Spinner label="Loading images" /> : pages.isError ? <ErrorMessage error={pages.error} /> : (
        <>
          {items.length === 0 ? <div className="empty-state"><p className="muted">No image matches these filters.</p></div> : (
            <ul className="thumb-grid" data-testid="thumb-grid">
              {items.map((item) => (
                <Thumbnail key={item.id} item={item} classById={classById} suspectThreshold={suspectThreshold}
                  onOpen={() => open(item.id)} onGroup={(imageId) => set("duplicate_group", String(imageId))} />
              ))}
            </ul>
          )}
          {pages.hasNextPage ? (
            <div className="pager">
              <button type="button" className="btn" disabled={pages.isFetchingNextPage} onClick={() => void pages.fetchNextPage()}>
                {pages.isFetchingNextPage ? "Loading…" : "Load more"}
              </button>
            </div>
          ) : null}
        </>
      )}
    </div>
  );
}
