import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { api } from "../../../api/client";
import type { Project, ProjectSettings, Strategy } from "../../../api/types";
import { ErrorMessage } from "../../../components/error-message";
import { Panel } from "../../../components/panel";

/** Choices for the enum settings (StrategyEnum and StreamModeEnum in the schema); the current value is always kept. */
const STRATEGIES: Record<Project["task_type"], Strategy[]> = {
  classification: ["least_confident", "margin", "entropy", "random"],
  detection: ["detection_mean", "detection_max", "detection_near_threshold", "random"],
};
const STREAM_MODES: ProjectSettings["stream_mode"][] = ["pacing", "threshold"];

function choicesFor(key: string, taskType: Project["task_type"]): string[] | undefined {
  if (key === "strategy") return STRATEGIES[taskType];
  if (key === "stream_mode") return STREAM_MODES;
  return undefined;
}

type Draft = Record<string, string | boolean>;

/** Enum settings always shown, even while unset (the server then uses its default). */
const ENUM_KEYS = ["strategy", "stream_mode"];

function toDraft(settings: Record<string, unknown>): Draft {
  const draft: Draft = {};
  for (const key of ENUM_KEYS) draft[key] = typeof settings[key] === "string" ? (settings[key] as string) : "";
  for (const [key, value] of Object.entries(settings)) {
    if (typeof value === "boolean") draft[key] = value;
    else if (value === null) draft[key] = "";
    else if (typeof value === "number" || typeof value === "string") draft[key] = String(value);
    else draft[key] = JSON.stringify(value);
  }
  return draft;
}

/** Converts the form back to the settings' original types; throws on a bad number or JSON. */
export function fromDraft(draft: Draft, original: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(draft)) {
    const before = original[key];
    if (ENUM_KEYS.includes(key) && typeof value === "string") {
      if (value !== "") out[key] = value;
      continue;
    }
    if (typeof value === "boolean") out[key] = value;
    else if (before === null && value.trim() === "") out[key] = null;
    else if (typeof before === "number" || before === null) {
      const n = Number(value);
      if (value.trim() === "" || !Number.isFinite(n)) throw new Error(`${label(key)} must be a number.`);
      out[key] = n;
    } else if (typeof before === "string") out[key] = value;
    else {
      try {
        out[key] = JSON.parse(value);
      } catch {
        throw new Error(`${label(key)} must be valid JSON.`);
      }
    }
  }
  return out;
}

/** Only what changed: the backend merges the changes into the stored settings. */
export function changedKeys(next: Record<string, unknown>, before: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(next)) {
    if (JSON.stringify(value) !== JSON.stringify(before[key])) out[key] = value;
  }
  return out;
}

const label = (key: string) => key.replaceAll("_", " ").replace(/^./, (c) => c.toUpperCase());

export function SettingsPanel({ project }: { project: Project }) {
  const queryClient = useQueryClient();
  const settings = (project.settings ?? {}) as unknown as Record<string, unknown>;
  const [draft, setDraft] = useState<Draft>(() => toDraft(settings));
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    setDraft(toDraft(settings));
  }, [JSON.stringify(settings)]);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    setSaved(false);
    let next: Record<string, unknown>;
    try {
      next = fromDraft(draft, settings);
    } catch (err) {
      setError(err);
      return;
    }
    setBusy(true);
    try {
      const changes = changedKeys(next, settings);
      const updated = await api<Project>(`/api/projects/${project.id}`, { method: "PATCH", body: { settings: changes } });
      queryClient.setQueryData(["projects", project.id], updated);
      void queryClient.invalidateQueries({ queryKey: ["projects"], exact: true });
      setSaved(true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  const keys = Object.keys(draft);
  return (
    <Panel title="Sampling settings" testId="settings-panel">
      {keys.length === 0 ? (
        <p className="muted">This project has no settings to edit.</p>
      ) : (
        <form className="settings-form" onSubmit={onSubmit}>
          {keys.map((key) => {
            const value = draft[key]!;
            const original = settings[key];
            if (typeof value === "boolean") {
              return (
                <label key={key} className="field field-check">
                  <input
                    type="checkbox"
                    name={key}
                    checked={value}
                    onChange={(e) => setDraft({ ...draft, [key]: e.target.checked })}
                  />
                  <span>{label(key)}</span>
                </label>
              );
            }
            const choices = choicesFor(key, project.task_type);
            if (choices) {
              const options = choices.includes(value) || value === "" ? choices : [value, ...choices];
              return (
                <label key={key} className="field">
                  <span>{label(key)}</span>
                  <select name={key} value={value} onChange={(e) => setDraft({ ...draft, [key]: e.target.value })}>
                    {value === "" ? <option value="">default for {project.task_type}</option> : null}
                    {options.map((o) => (
                      <option key={o} value={o}>
                        {o.replaceAll("_", " ")}
                      </option>
                    ))}
                  </select>
                </label>
              );
            }
            const isNumber = typeof original === "number" || original === null;
            const isJson = !isNumber && typeof original !== "string";
            return (
              <label key={key} className="field">
                <span>{label(key)}</span>
                {isJson ? (
                  <textarea
                    name={key}
                    rows={2}
                    value={value}
                    onChange={(e) => setDraft({ ...draft, [key]: e.target.value })}
                  />
                ) : (
                  <input
                    name={key}
                    type={isNumber ? "number" : "text"}
                    placeholder={original === null ? "none" : undefined}
                    step="any"
                    value={value}
                    onChange={(e) => setDraft({ ...draft, [key]: e.target.value })}
                  />
                )}
              </label>
            );
          })}
          {error ? <ErrorMessage error={error} /> : null}
          {saved ? <div className="alert alert-success">Settings saved.</div> : null}
          <div>
            <button type="submit" className="btn btn-primary" disabled={busy}>
              {busy ? "Saving…" : "Save settings"}
            </button>
          </div>
        </form>
      )}
    </Panel>
  );
}
