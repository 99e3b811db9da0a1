import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api } from "../../../api/client";
import type { FieldErrors } from "../../../api/field-errors";
import type { LabelClass, LabelClassInput } from "../../../api/types";
import { ErrorMessage } from "../../../components/error-message";
import { FieldError, fieldErrorsOf } from "../../../components/field-error";
import { HotkeyInput } from "../../../components/hotkey-input";
import { Panel } from "../../../components/panel";
import { classesQuery } from "../../projects";

/** Rename, recolour or rekey one class in place. Labels point at the class by id: nothing is relabeled. */
function ClassEditor({ projectId, labelClass, onDone }: { projectId: number; labelClass: LabelClass; onDone: () => void }) {
  const queryClient = useQueryClient();
  const [name, setName] = useState(labelClass.name);
  const [color, setColor] = useState(labelClass.color ?? "#64748b");
  const [hotkey, setHotkey] = useState(labelClass.hotkey ?? "");
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);

  async function onSave(event: FormEvent) {
    event.preventDefault();
    const changes: Partial<LabelClassInput> = {};
    if (name.trim() !== labelClass.name) changes.name = name.trim();
    if (color !== labelClass.color) changes.color = color;
    if (hotkey !== (labelClass.hotkey ?? "")) changes.hotkey = hotkey;
    if (Object.keys(changes).length === 0) return onDone();
    setBusy(true);
    setErrors({});
    try {
      await api<LabelClass>(`/api/projects/${projectId}/classes/${labelClass.id}`, { method: "PATCH", body: changes });
      await Promise.all([
        queryClient.invalidateQueries({ queryKey: classesQuery(projectId).queryKey }),
        queryClient.invalidateQueries({ queryKey: ["projects", projectId], exact: true }),
      ]);
      onDone();
    } catch (err) {
      setErrors(fieldErrorsOf(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="class-editor" onSubmit={onSave} aria-label={`Edit class ${labelClass.name}`}>
      <label className="field grow">
        <span>Name</span>
        <input name="name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} autoFocus />
        <FieldError errors={errors} path="name" />
      </label>
      <label className="field">
        <span>Colour</span>
        <input name="color" type="color" value={color} onChange={(e) => setColor(e.target.value)} className="color-input" />
        <FieldError errors={errors} path="color" />
      </label>
      <label className="field">
        <span>Key</span>
        <HotkeyInput name="hotkey" value={hotkey} onChange={setHotkey} />
        <FieldError errors={errors} path="hotkey" />
      </label>
      <div className="row">
        <button type="submit" className="btn btn-primary btn-small" disabled={busy}>
          Save
        </button>
        <button type="button" className="btn btn-small btn-ghost" onClick={onDone}>
          Cancel
        </button>
      </div>
      <FieldError errors={errors} path="" />
    </form>
  );
}

export function ClassesPanel({ projectId }: { projectId: number }) {
  const queryClient = useQueryClient();
  const classes = useQuery(classesQuery(projectId));
  const [editing, setEditing] = useState<number | null>(null);
  const [name, setName] = useState("");
  const [color, setColor] = useState<string | null>(null);
  const [hotkey, setHotkey] = useState("");
  const [errors, setErrors] = useState<FieldErrors>({});
  const [deleteError, setDeleteError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const refresh = () => queryClient.invalidateQueries({ queryKey: classesQuery(projectId).queryKey });

  async function onAdd(event: FormEvent) {
    event.preventDefault();
    // No colour picked: the server takes the one in the name (yellow_box) or a distinct one.
    const body: LabelClassInput = { name: name.trim(), ...(color ? { color } : {}), ...(hotkey ? { hotkey } : {}) };
    setBusy(true);
    setErrors({});
    try {
      await api<LabelClass>(`/api/projects/${projectId}/classes`, { method: "POST", body });
      await refresh();
      setName("");
      setHotkey("");
      setColor(null);
    } catch (err) {
      setErrors(fieldErrorsOf(err));
    } finally {
      setBusy(false);
    }
  }

  async function onDelete(c: LabelClass) {
    if (!window.confirm(`Delete the class ${c.name}? Classes already used by labels cannot be deleted.`)) return;
    setDeleteError(null);
    try {
      await api<null>(`/api/projects/${projectId}/classes/${c.id}`, { method: "DELETE" });
      await refresh();
    } catch (err) {
      setDeleteError(err);
    }
  }

  return (
    <Panel title="Label classes" testId="classes-panel">
      {classes.isError ? <ErrorMessage error={classes.error} /> : null}
      {classes.data ? (
        classes.data.length ? (
          <ul className="class-list">
            {classes.data.map((c) =>
              editing === c.id ? (
                <li key={c.id} className="class-list-editing">
                  <ClassEditor projectId={projectId} labelClass={c} onDone={() => setEditing(null)} />
                </li>
              ) : (
                <li key={c.id} data-testid={`class-${c.name}`} style={{ ["--class-color" as string]: c.color ?? "#64748b" }}>
                  <span className="class-swatch" aria-hidden="true" />
                  <span className="class-name">{c.name}</span>
                  {c.hotkey ? <kbd>{c.hotkey}</kbd> : <span />}
                  <span className="row">
                    <button type="button" className="btn btn-small" onClick={() => setEditing(c.id)} aria-label={`Edit ${c.name}`}>
                      Edit
                    </button>
                    <button type="button" className="btn btn-small btn-ghost" onClick={() => void onDelete(c)} aria-label={`Delete ${c.name}`}>
                      Delete
                    </button>
                  </span>
                </li>
              ),
            )}
          </ul>
        ) : (
          <p className="muted">No classes yet: annotators cannot label until there is one.</p>
        )
      ) : null}
      {deleteError ? <ErrorMessage error={deleteError} /> : null}
      <form className="inline-form" onSubmit={onAdd} aria-label="Add class">
        <label className="field grow">
          <span>Name</span>
          <input name="name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} />
          <FieldError errors={errors} path="name" />
        </label>
        <label className="field">
          <span>Colour</span>
          <input
            name="color"
            type="color"
            value={color ?? "#94a3b8"}
            title={color ?? "auto: the colour in the name, else a distinct one"}
            onChange={(e) => setColor(e.target.value)}
            className={color ? "color-input" : "color-input color-auto"}
          />
          <FieldError errors={errors} path="color" />
        </label>
        <label className="field">
          <span>Key</span>
          <HotkeyInput name="hotkey" value={hotkey} onChange={setHotkey} />
          <FieldError errors={errors} path="hotkey" />
        </label>
        <button type="submit" className="btn btn-primary" disabled={busy}>
          Add
        </button>
        <FieldError errors={errors} path="" />
      </form>
    </Panel>
  );
}
