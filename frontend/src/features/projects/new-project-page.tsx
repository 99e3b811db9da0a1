import { useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router";
import type { FieldErrors } from "../../api/field-errors";
import type { ProjectClassInput, TaskType } from "../../api/types";
import { FieldError, fieldErrorsOf } from "../../components/field-error";
import { HotkeyInput } from "../../components/hotkey-input";
import { createProject } from "./api";

interface ClassRow {
  name: string;
  /** null: the server picks (the colour named in the class name, else a distinct one). */
  color: string | null;
  hotkey: string;
}

const TASK_TYPES: { value: TaskType; title: string; hint: string }[] = [
  { value: "detection", title: "Detection", hint: "Boxes around objects; counts come from the boxes." },
  { value: "classification", title: "Classification", hint: "One class per image." },
];

/** Classes as the API takes them: empty rows dropped, colour and key only when chosen. */
export function classesForRequest(rows: ClassRow[]): ProjectClassInput[] {
  return rows
    .filter((row) => row.name.trim() !== "")
    .map((row) => ({
      name: row.name.trim(),
      ...(row.color ? { color: row.color } : {}),
      ...(row.hotkey ? { hotkey: row.hotkey } : {}),
    }));
}

export function NewProjectPage() {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [taskType, setTaskType] = useState<TaskType>("detection");
  const [rows, setRows] = useState<ClassRow[]>([{ name: "", color: null, hotkey: "" }]);
  const [budget, setBudget] = useState("100");
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);

  const setRow = (index: number, change: Partial<ClassRow>) =>
    setRows(rows.map((row, i) => (i === index ? { ...row, ...change } : row)));

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    const credits = budget.trim() === "" ? 0 : Number(budget);
    if (!Number.isInteger(credits) || credits < 0) {
      setErrors({ budget: "Enter a whole number of credits (0 or more)." });
      return;
    }
    setBusy(true);
    setErrors({});
    try {
      const project = await createProject({
        name: name.trim(),
        description,
        task_type: taskType,
        classes: classesForRequest(rows),
        budget: credits,
      });
      queryClient.setQueryData(["projects", project.id], project);
      await queryClient.invalidateQueries({ queryKey: ["projects"], exact: true });
      navigate(`/projects/${project.id}/admin-ui/data?created=1`);
    } catch (err) {
      setErrors(fieldErrorsOf(err));
      setBusy(false);
    }
  }

  return (
    <div className="page narrow">
      <div className="page-header">
        <h1>New project</h1>
        <Link to="/projects" className="muted">
          Cancel
        </Link>
      </div>
      <form className="panel project-form" onSubmit={onSubmit} noValidate aria-label="New project">
        <div className="panel-body">
          <label className="field">
            <span>Name</span>
            <input name="name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} autoFocus />
            <FieldError errors={errors} path="name" />
          </label>
          <label className="field">
            <span>Description (optional)</span>
            <textarea name="description" rows={2} value={description} onChange={(e) => setDescription(e.target.value)} />
          </label>
          <fieldset className="choice-group">
            <legend>Task</legend>
            {TASK_TYPES.map((type) => (
              <label key={type.value} className={`choice ${taskType === type.value ? "choice-on" : ""}`}>
                <input type="radio" name="task_type" value={type.value} checked={taskType === type.value} onChange={() => setTaskType(type.value)} />
                <span>
                  <strong>{type.title}</strong>
                  <small className="muted">{type.hint}</small>
                </span>
              </label>
            ))}
            <FieldError errors={errors} path="task_type" />
          </fieldset>
          <fieldset className="class-rows">
            <legend>Classes</legend>
            <p className="muted small">
              A dashed colour is automatic: the colour in the name (<code>yellow_box</code> is yellow), else a distinct one.
              Keys default to 1–9.
            </p>
            {rows.map((row, index) => (
              <div className="class-row" key={index} data-testid={`class-row-${index}`}>
                <label className="field grow">
                  <span>Name</span>
                  <input name={`classes.${index}.name`} value={row.name} onChange={(e) => setRow(index, { name: e.target.value })} maxLength={100} />
                  <FieldError errors={errors} path={`classes.${index}.name`} />
                </label>
                <label className="field">
                  <span>Colour</span>
                  <input
                    name={`classes.${index}.color`}
                    type="color"
                    title={row.color ? row.color : "auto: the colour in the name, else a distinct one"}
                    className={row.color ? "color-input" : "color-input color-auto"}
                    value={row.color ?? "#94a3b8"}
                    onChange={(e) => setRow(index, { color: e.target.value })}
                  />
                  <FieldError errors={errors} path={`classes.${index}.color`} />
                </label>
                <label className="field">
                  <span>Key</span>
                  <HotkeyInput
                    name={`classes.${index}.hotkey`}
                    value={row.hotkey}
                    placeholder="auto"
                    onChange={(hotkey) => setRow(index, { hotkey })}
                  />
                  <FieldError errors={errors} path={`classes.${index}.hotkey`} />
                </label>
                <button
                  type="button"
                  className="btn btn-small btn-ghost"
                  aria-label={`Remove class ${index + 1}`}
                  title="Remove this class"
                  disabled={rows.length === 1}
                  onClick={() => setRows(rows.filter((_, i) => i !== index))}
                >
                  ✕
                </button>
              </div>
            ))}
            <FieldError errors={errors} path="classes" />
            <div>
              <button type="button" className="btn btn-small" onClick={() => setRows([...rows, { name: "", color: null, hotkey: "" }])}>
                Add class
              </button>
            </div>
          </fieldset>
          <label className="field">
            <span>First budget</span>
            <div className="number-control">
              <input name="budget" type="number" min={0} step={1} value={budget} onChange={(e) => setBudget(e.target.value)} />
              <span className="unit">credits (1 credit = 1 labeled image)</span>
            </div>
            <FieldError errors={errors} path="budget" />
          </label>
          {errors[""] ? <div className="alert alert-error" role="alert">{errors[""]}</div> : null}
          <p className="muted small">Next: add images by upload or import a labeled dataset.</p>
          <div className="form-actions">
            <button type="submit" className="btn btn-primary" disabled={busy}>
              {busy ? "Creating…" : "Create project"}
            </button>
          </div>
        </div>
      </form>
    </div>
  );
}
