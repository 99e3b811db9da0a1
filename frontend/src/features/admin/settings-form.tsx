import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent, type ReactNode } from "react";
import { api } from "../../api/client";
import type { FieldErrors } from "../../api/field-errors";
import type { Project } from "../../api/types";
import { FieldError, fieldErrorsOf, unplacedErrors } from "../../components/field-error";
import { ErrorMessage } from "../../components/error-message";
import { Panel } from "../../components/panel";
import { Spinner } from "../../components/spinner";
import {
  changedKeys,
  emptyRule,
  fromDraft,
  RULE_KIND_LABELS,
  RULE_KINDS,
  RULE_PARAMETERS,
  settingGroups,
  toDraft,
  type Draft,
  type RuleDraft,
  type RuleKind,
  type SettingField,
  type SettingGroup,
} from "./settings-draft";
import { settingsSchemaQuery, type FieldMeta, type SchemaMeta } from "./settings-schema";

const words = (value: string) => value.replaceAll("_", " ");

/** "1–1440 minutes." or "At least 1." from the schema's bounds (a bare minimum of 0 says nothing). */
export function boundsText(meta: FieldMeta | undefined, unit?: string): string {
  const suffix = unit ? ` ${unit}` : "";
  if (meta?.min !== undefined && meta.max !== undefined) return `Range ${meta.min}–${meta.max}${suffix}.`;
  if (meta?.max !== undefined) return `At most ${meta.max}${suffix}.`;
  if (meta?.min !== undefined && meta.min !== 0) return `At least ${meta.min}.`;
  return "";
}

function Help({ meta, unit }: { meta?: FieldMeta; unit?: string }) {
  const text = [meta?.help, boundsText(meta, unit)].filter(Boolean).join(" ");
  return text ? <small className="field-help">{text}</small> : null;
}

function NumberInput({
  name,
  value,
  meta,
  unit,
  fraction,
  invalid,
  onChange,
}: {
  name: string;
  value: string;
  meta?: FieldMeta;
  unit?: string;
  fraction?: boolean;
  invalid: boolean;
  onChange: (value: string) => void;
}) {
  const step = fraction ? 0.01 : meta?.integer ? 1 : "any";
  return (
    <div className="number-control">
      <input
        name={name}
        type="number"
        inputMode="decimal"
        min={meta?.min}
        max={meta?.max}
        step={step}
        value={value}
        aria-invalid={invalid || undefined}
        placeholder={meta?.default === undefined || meta.default === null ? "none" : String(meta.default)}
        onChange={(e) => onChange(e.target.value)}
      />
      {/* After the number input: a <label> names only its first control. */}
      {fraction ? (
        <input
          type="range"
          aria-hidden="true"
          tabIndex={-1}
          min={meta?.min ?? 0}
          max={meta?.max ?? 1}
          step={0.01}
          value={value === "" ? (meta?.min ?? 0) : Number(value)}
          onChange={(e) => onChange(e.target.value)}
        />
      ) : null}
      {unit ? <span className="unit">{unit}</span> : null}
    </div>
  );
}

function RuleForm({
  rule,
  index,
  meta,
  errors,
  onChange,
  onRemove,
}: {
  rule: RuleDraft;
  index: number;
  meta: Record<string, FieldMeta>;
  errors: FieldErrors;
  onChange: (rule: RuleDraft) => void;
  onRemove: () => void;
}) {
  const path = `collection_rules.${index}`;
  const parameters = RULE_PARAMETERS[rule.kind as RuleKind] ?? [];
  const set = (key: keyof RuleDraft) => (value: string) => onChange({ ...rule, [key]: value });
  return (
    <fieldset className="rule-form" data-testid={`rule-${index}`}>
      <legend>Rule {index + 1}</legend>
      <label className="field">
        <span>Kind</span>
        <select name={`${path}.kind`} value={rule.kind} onChange={(e) => set("kind")(e.target.value)}>
          {RULE_KINDS.includes(rule.kind as RuleKind) ? null : <option value={rule.kind}>{rule.kind}</option>}
          {RULE_KINDS.map((kind) => (
            <option key={kind} value={kind}>
              {RULE_KIND_LABELS[kind]}
            </option>
          ))}
        </select>
        <FieldError errors={errors} path={`${path}.kind`} />
      </label>
      {parameters.map(({ key, label }) => (
        <label className="field" key={key}>
          <span>{label}</span>
          <NumberInput
            name={`${path}.${key}`}
            value={rule[key]}
            meta={meta[key]}
            fraction={key !== "n"}
            invalid={Boolean(errors[`${path}.${key}`])}
            onChange={set(key)}
          />
          <FieldError errors={errors} path={`${path}.${key}`} />
        </label>
      ))}
      {(["per_hour", "per_day"] as const).map((key) => (
        <label className="field" key={key}>
          <span>{key === "per_hour" ? "At most per hour" : "At most per day"}</span>
          <NumberInput
            name={`${path}.${key}`}
            value={rule[key]}
            meta={{ ...meta[key], default: null }}
            unit="images"
            invalid={Boolean(errors[`${path}.${key}`])}
            onChange={set(key)}
          />
          <FieldError errors={errors} path={`${path}.${key}`} />
        </label>
      ))}
      <div className="rule-actions">
        <button type="button" className="btn btn-small btn-ghost" onClick={onRemove}>
          Remove rule
        </button>
      </div>
      <FieldError errors={errors} path={path} />
    </fieldset>
  );
}

/** The settings as a grouped form; help text, bounds and choices come from the API's schema. */
export function SettingsForm({ project }: { project: Project }) {
  const schema = useQuery(settingsSchemaQuery);
  return (
    <Panel title="Settings" testId="settings-panel" className="panel-wide">
      {schema.isPending ? (
        <Spinner label="Loading the settings' schema" />
      ) : schema.isError ? (
        <>
          {/* Still editable without help text and bounds: the server checks every value anyway. */}
          <ErrorMessage error={schema.error} title="Could not load the settings' help and bounds" />
          <SettingsFields project={project} meta={{}} ruleMeta={{}} groups={settingGroups({})} />
        </>
      ) : (
        <SettingsFields
          project={project}
          meta={schema.data.settings}
          ruleMeta={schema.data.rule}
          groups={settingGroups(schema.data.settings)}
        />
      )}
    </Panel>
  );
}

function SettingsFields({
  project,
  meta,
  ruleMeta,
  groups,
}: {
  project: Project;
  meta: SchemaMeta;
  ruleMeta: SchemaMeta;
  groups: SettingGroup[];
}) {
  const queryClient = useQueryClient();
  const settings = (project.settings ?? {}) as unknown as Record<string, unknown>;
  const [draft, setDraft] = useState<Draft>(() => toDraft(settings, groups));
  const [errors, setErrors] = useState<FieldErrors>({});
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);

  // Reset the draft (while rendering) when the saved settings change in value, not on each new object.
  const settingsJson = JSON.stringify(settings);
  const [draftOfJson, setDraftOfJson] = useState(settingsJson);
  if (draftOfJson !== settingsJson) {
    setDraftOfJson(settingsJson);
    setDraft(toDraft(settings, groups));
  }

  const set = (key: string, value: Draft[string]) => {
    setDraft((current) => ({ ...current, [key]: value }));
    setSaved(false);
  };

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setSaved(false);
    const { settings: next, errors: local } = fromDraft(draft, groups);
    if (Object.keys(local).length > 0) {
      setErrors(local);
      return;
    }
    setErrors({});
    setBusy(true);
    try {
      const changes = changedKeys(next, settings);
      const updated = await api<Project>(`/api/projects/${project.id}`, { method: "PATCH", body: { settings: changes } });
      queryClient.setQueryData(["projects", project.id], updated);
      setSaved(true);
    } catch (err) {
      setErrors(fieldErrorsOf(err));
    } finally {
      setBusy(false);
    }
  }

  const fields = groups.flatMap((group) => group.fields);
  const placed = (path: string) => fields.some((f) => path === f.key || path.startsWith(`${f.key}.`));
  const banner = unplacedErrors(errors, placed);

  function control(field: SettingField): ReactNode {
    const value = draft[field.key];
    if (value === undefined) return null;
    const fieldMeta = meta[field.key];
    const invalid = Boolean(errors[field.key]);
    if (field.control === "check") {
      return (
        <label className="field field-check setting" key={field.key}>
          <input type="checkbox" name={field.key} checked={Boolean(value)} onChange={(e) => set(field.key, e.target.checked)} />
          <span className="setting-label">
            {field.label}
            <Help meta={fieldMeta} />
          </span>
          <FieldError errors={errors} path={field.key} />
        </label>
      );
    }
    if (field.control === "rules") {
      const rules = value as RuleDraft[];
      return (
        <div className="setting setting-rules" key={field.key}>
          <span className="setting-title">{field.label}</span>
          <Help meta={fieldMeta} />
          {rules.length === 0 ? <p className="muted small">No rules: the prediction API keeps no images.</p> : null}
          {rules.map((rule, index) => (
            <RuleForm
              key={index}
              rule={rule}
              index={index}
              meta={ruleMeta}
              errors={errors}
              onChange={(next) => set(field.key, rules.map((r, i) => (i === index ? next : r)))}
              onRemove={() => set(field.key, rules.filter((_, i) => i !== index))}
            />
          ))}
          <FieldError errors={errors} path={field.key} />
          <div>
            <button type="button" className="btn btn-small" onClick={() => set(field.key, [...rules, emptyRule()])}>
              Add rule
            </button>
          </div>
        </div>
      );
    }
    if (field.control === "select") {
      // The project lists the strategies fitting its task type, the default first.
      const all = field.key === "strategy" ? project.strategy_choices : (fieldMeta?.choices ?? []);
      const fallback = field.key === "strategy" ? all[0] : (fieldMeta?.default as string | undefined);
      const current = value as string;
      const options = current === "" ? all.filter((o) => o !== fallback) : all.includes(current) ? all : [current, ...all];
      const label = (o: string) => (o === fallback ? `${words(o)} (default)` : words(o));
      return (
        <label className="field setting" key={field.key}>
          <span>{field.label}</span>
          <select name={field.key} value={current} onChange={(e) => set(field.key, e.target.value)} aria-invalid={invalid || undefined}>
            {current === "" ? <option value="">{fallback ? label(fallback) : "default"}</option> : null}
            {options.map((o) => (
              <option key={o} value={o}>
                {label(o)}
              </option>
            ))}
          </select>
          <Help meta={fieldMeta} />
          <FieldError errors={errors} path={field.key} />
        </label>
      );
    }
    if (field.control === "text") {
      return (
        <label className="field setting" key={field.key}>
          <span>{field.label}</span>
          <input name={field.key} value={value as string} placeholder="default" onChange={(e) => set(field.key, e.target.value)} aria-invalid={invalid || undefined} />
          <Help meta={fieldMeta} />
          <FieldError errors={errors} path={field.key} />
        </label>
      );
    }
    return (
      <label className="field setting" key={field.key}>
        <span>{field.label}</span>
        <NumberInput
          name={field.key}
          value={value as string}
          meta={fieldMeta}
          unit={field.control === "fraction" ? undefined : field.unit}
          fraction={field.control === "fraction"}
          invalid={invalid}
          onChange={(next) => set(field.key, next)}
        />
        <Help meta={fieldMeta} unit={field.unit} />
        <FieldError errors={errors} path={field.key} />
      </label>
    );
  }

  return (
    <form className="settings-form" onSubmit={onSubmit} noValidate>
      {groups.map((group) => (
        <fieldset className="settings-group" key={group.title}>
          <legend>{group.title}</legend>
          <div className="settings-grid">
            {group.fields.filter((f) => !f.taskType || f.taskType === project.task_type).map(control)}
          </div>
        </fieldset>
      ))}
      {banner.length > 0 ? (
        <div className="alert alert-error" role="alert">
          {banner.map((line) => (
            <div key={line}>{line}</div>
          ))}
        </div>
      ) : Object.keys(errors).length > 0 ? (
        <div className="alert alert-error" role="alert">
          Not saved: fix the fields marked below each control.
        </div>
      ) : null}
      {saved ? <div className="alert alert-success">Settings saved.</div> : null}
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? "Saving…" : "Save settings"}
        </button>
      </div>
    </form>
  );
}
