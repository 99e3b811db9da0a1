import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api } from "../../../api/client";
import type { LabelClass, LabelClassInput } from "../../../api/types";
import { ErrorMessage } from "../../../components/error-message";
import { Panel } from "../../../components/panel";
import { classesQuery } from "../../projects/api";

export function ClassesPanel({ projectId }: { projectId: number }) {
  const queryClient = useQueryClient();
  const classes = useQuery(classesQuery(projectId));
  const [name, setName] = useState("");
  const [color, setColor] = useState("#2563eb");
  const [hotkey, setHotkey] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function run(action: () => Promise<unknown>) {
    setBusy(true);
    setError(null);
    try {
      await action();
      await queryClient.invalidateQueries({ queryKey: classesQuery(projectId).queryKey });
      return true;
    } catch (err) {
      setError(err);
      return false;
    } finally {
      setBusy(false);
    }
  }

  async function onAdd(event: FormEvent) {
    event.preventDefault();
    const body: LabelClassInput = { name: name.trim(), color, ...(hotkey ? { hotkey } : {}) };
    if (await run(() => api<LabelClass>(`/api/projects/${projectId}/classes`, { method: "POST", body }))) {
      setName("");
      setHotkey("");
    }
  }

  function onDelete(c: LabelClass) {
    if (window.confirm(`Delete the class ${c.name}? Classes already used by labels cannot be deleted.`)) {
      void run(() => api<null>(`/api/projects/${projectId}/classes/${c.id}`, { method: "DELETE" }));
    }
  }

  return (
    <Panel title="Label classes" testId="classes-panel">
      {classes.isError ? <ErrorMessage error={classes.error} /> : null}
      {classes.data ? (
        classes.data.length ? (
          <ul className="class-list">
            {classes.data.map((c) => (
              <li key={c.id} style={{ ["--class-color" as string]: c.color ?? "#64748b" }}>
                <span className="class-swatch" aria-hidden="true" />
                <span className="class-name">{c.name}</span>
                {c.hotkey ? <kbd>{c.hotkey}</kbd> : <span />}
                <button type="button" className="btn btn-small btn-ghost" disabled={busy} onClick={() => onDelete(c)}>
                  Delete
                </button>
              </li>
            ))}
          </ul>
        ) : (
          <p className="muted">No classes yet: annotators cannot label until there is one.</p>
        )
      ) : null}
      <form className="inline-form" onSubmit={onAdd} aria-label="Add class">
        <label className="field grow">
          <span>Name</span>
          <input name="name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} />
        </label>
        <label className="field">
          <span>Colour</span>
          <input name="color" type="color" value={color} onChange={(e) => setColor(e.target.value)} className="color-input" />
        </label>
        <label className="field">
          <span>Key</span>
          <input
            name="hotkey"
            value={hotkey}
            onChange={(e) => setHotkey(e.target.value.slice(-1))}
            className="hotkey-input"
            placeholder="1–9"
          />
        </label>
        <button type="submit" className="btn btn-primary" disabled={busy}>
          Add
        </button>
      </form>
      {error ? <ErrorMessage error={error} /> : null}
    </Panel>
  );
}
