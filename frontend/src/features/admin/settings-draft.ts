/**
 * The settings form's model: which settings exist, how they group, their units and controls,
 * and the conversion between the form's text fields and the API's typed values. Help text and
 * bounds come from the OpenAPI schema at run time (see settings-schema.ts), so they cannot drift.
 */
import type { FieldErrors } from "../../api/field-errors";
import type { SchemaMeta } from "./settings-schema";

export type Control = "check" | "number" | "fraction" | "select" | "text" | "rules";

export interface SettingField {
  key: string;
  label: string;
  control: Control;
  unit?: string;
  /** Empty means "no value" (null) rather than an error. */
  nullable?: boolean;
  /** Shown only for this task type. */
  taskType?: "classification" | "detection";
}

export interface SettingGroup {
  title: string;
  fields: SettingField[];
}

export const SETTING_GROUPS: SettingGroup[] = [
  {
    title: "Sampling",
    fields: [
      { key: "strategy", label: "Strategy", control: "select" },
      { key: "batch_diversity", label: "Batch diversity", control: "check" },
      { key: "weak_class_weighting", label: "Weak-class weighting", control: "check" },
      { key: "lease_minutes", label: "Lease", control: "number", unit: "minutes" },
      { key: "evaluation_share", label: "Evaluation share", control: "fraction" },
    ],
  },
  {
    title: "Training",
    fields: [
      { key: "auto_retrain_every", label: "Retrain every", control: "number", unit: "new labels" },
      { key: "val_fraction", label: "Validation share", control: "fraction" },
      { key: "test_fraction", label: "Test share", control: "fraction" },
      { key: "max_epochs", label: "Max epochs", control: "number", unit: "epochs" },
      { key: "input_size", label: "Input size", control: "number", unit: "px", nullable: true },
      { key: "model", label: "Model", control: "text", nullable: true },
      { key: "finetune", label: "Fine-tuning", control: "select", taskType: "classification" },
      { key: "detection_threshold", label: "Detection threshold", control: "fraction", taskType: "detection" },
      { key: "train_on_auto_labels", label: "Train on auto labels", control: "check" },
    ],
  },
  {
    title: "Stream sampling",
    fields: [
      { key: "stream_mode", label: "Mode", control: "select" },
      { key: "stream_threshold", label: "Threshold", control: "fraction" },
      { key: "stream_expected_items", label: "Expected stream", control: "number", unit: "images" },
      { key: "stream_hard_cap", label: "Hard cap", control: "number", unit: "queries", nullable: true },
      { key: "stream_exploration", label: "Exploration", control: "fraction" },
      { key: "held_credit_hours", label: "Held credit returns after", control: "number", unit: "hours" },
    ],
  },
  {
    title: "Production",
    fields: [
      { key: "collection_rules", label: "Collection rules", control: "rules" },
      { key: "affirmation_enabled", label: "Affirmation", control: "check" },
      { key: "affirmation_window_hours", label: "Affirmation window", control: "number", unit: "hours" },
    ],
  },
  {
    title: "Review and label quality",
    fields: [
      { key: "review_mode", label: "Review", control: "select" },
      { key: "review_share", label: "Review share", control: "fraction" },
      { key: "suspect_threshold", label: "Suspect threshold", control: "fraction" },
      { key: "gold_rate", label: "Gold item rate", control: "fraction" },
      { key: "consensus_share", label: "Consensus share", control: "fraction" },
    ],
  },
];

const sentence = (key: string) => key.charAt(0).toUpperCase() + key.slice(1).replaceAll("_", " ");

/** The control the schema's type and bounds call for, or null for a shape the form cannot edit. */
function inferredControl(meta: SchemaMeta[string]): Control | null {
  if (meta.type === "boolean") return "check";
  if (meta.choices?.length) return "select";
  if (meta.type === "number" && (meta.min ?? -1) >= 0 && (meta.max ?? 2) <= 1) return "fraction";
  if (meta.type === "number" || meta.type === "integer") return "number";
  if (meta.type === "string") return "text";
  return null;
}

/**
 * The form's groups: the ones above, then every other setting the server's schema has under
 * "Other settings", with a control fitting its type, so a new setting is editable at once.
 */
export function settingGroups(meta: SchemaMeta): SettingGroup[] {
  const listed = new Set(SETTING_GROUPS.flatMap((group) => group.fields.map((field) => field.key)));
  const others: SettingField[] = [];
  for (const [key, fieldMeta] of Object.entries(meta)) {
    const control = listed.has(key) ? null : inferredControl(fieldMeta);
    if (control) others.push({ key, label: sentence(key), control, nullable: fieldMeta.nullable });
  }
  return others.length ? [...SETTING_GROUPS, { title: "Other settings", fields: others }] : SETTING_GROUPS;
}

export const RULE_KINDS = ["random_1_in_n", "low_confidence", "verification_sample"] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

/** Which parameter each rule kind reads (the others are not sent). */
export const RULE_PARAMETERS: Record<RuleKind, { key: "n" | "threshold" | "epsilon"; label: string }[]> = {
  random_1_in_n: [{ key: "n", label: "Keep 1 in N" }],
  verification_sample: [{ key: "n", label: "Keep 1 in N" }],
  low_confidence: [
    { key: "threshold", label: "Confidence under" },
    { key: "epsilon", label: "Or within ε of the detection threshold" },
  ],
};

export const RULE_KIND_LABELS: Record<RuleKind, string> = {
  random_1_in_n: "Random: 1 in N",
  low_confidence: "Low confidence",
  verification_sample: "Verification sample: 1 in N",
};

export interface RuleDraft {
  kind: string;
  n: string;
  threshold: string;
  epsilon: string;
  per_hour: string;
  per_day: string;
}

export type Draft = Record<string, string | boolean | RuleDraft[]>;

const text = (value: unknown) => (value === null || value === undefined ? "" : String(value));

export function emptyRule(): RuleDraft {
  return { kind: "random_1_in_n", n: "10", threshold: "", epsilon: "", per_hour: "", per_day: "" };
}

export function toDraft(settings: Record<string, unknown>, groups: SettingGroup[] = SETTING_GROUPS): Draft {
  const draft: Draft = {};
  for (const group of groups) {
    for (const field of group.fields) {
      const value = settings[field.key];
      // Settings with a default always come from the server; one it does not report is not shown.
      const optional = field.nullable || field.control === "select" || field.control === "text" || field.control === "rules";
      if (value === undefined && !optional) continue;
      if (field.control === "check") draft[field.key] = Boolean(value);
      else if (field.control === "rules") {
        const rules = Array.isArray(value) ? (value as Record<string, unknown>[]) : [];
        draft[field.key] = rules.map((rule) => ({
          kind: text(rule.kind),
          n: text(rule.n),
          threshold: text(rule.threshold),
          epsilon: text(rule.epsilon),
          per_hour: text(rule.per_hour),
          per_day: text(rule.per_day),
        }));
      } else draft[field.key] = text(value);
    }
  }
  return draft;
}

function number(raw: string, path: string, errors: FieldErrors, nullable: boolean): number | null | undefined {
  const trimmed = raw.trim();
  if (trimmed === "") {
    if (!nullable) errors[path] = "Enter a number.";
    return nullable ? null : undefined;
  }
  const value = Number(trimmed);
  if (!Number.isFinite(value)) {
    errors[path] = "Enter a number.";
    return undefined;
  }
  return value;
}

/** Typed settings from the form, or the errors found before asking the server (by field path). */
export function fromDraft(
  draft: Draft,
  groups: SettingGroup[] = SETTING_GROUPS,
): { settings: Record<string, unknown>; errors: FieldErrors } {
  const settings: Record<string, unknown> = {};
  const errors: FieldErrors = {};
  for (const group of groups) {
    for (const field of group.fields) {
      const value = draft[field.key];
      if (value === undefined) continue;
      if (field.control === "check") settings[field.key] = value;
      else if (field.control === "rules") {
        settings[field.key] = (value as RuleDraft[]).map((rule, index) => ruleFromDraft(rule, `${field.key}.${index}`, errors));
      } else if (field.control === "select" || field.control === "text") {
        const chosen = (value as string).trim();
        if (chosen !== "") settings[field.key] = chosen;
      } else {
        const parsed = number(value as string, field.key, errors, Boolean(field.nullable));
        if (parsed !== undefined && !(parsed === null && field.key === "input_size")) settings[field.key] = parsed;
      }
    }
  }
  return { settings, errors };
}

function ruleFromDraft(rule: RuleDraft, path: string, errors: FieldErrors): Record<string, unknown> {
  const out: Record<string, unknown> = { kind: rule.kind };
  const parameters = RULE_PARAMETERS[rule.kind as RuleKind] ?? [];
  for (const { key } of parameters) {
    // epsilon is optional for low_confidence; everything else the kind reads is required.
    const parsed = number(rule[key], `${path}.${key}`, errors, key === "epsilon");
    if (parsed !== undefined && parsed !== null) out[key] = parsed;
  }
  for (const key of ["per_hour", "per_day"] as const) {
    const parsed = number(rule[key], `${path}.${key}`, errors, true);
    if (parsed !== undefined) out[key] = parsed;
  }
  return out;
}

/** Only what changed: the backend merges the changes into the stored settings. */
export function changedKeys(next: Record<string, unknown>, before: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(next)) {
    if (JSON.stringify(value) !== JSON.stringify(before[key] ?? null)) out[key] = value;
  }
  return out;
}
