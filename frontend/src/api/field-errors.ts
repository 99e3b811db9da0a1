/**
 * DRF answers a bad body with errors shaped like the body itself:
 *   {"collection_rules": [{}, {"n": ["Ensure this value is greater than or equal to 1."]}]}
 * (with a summary in `detail` and `code: "invalid"` beside them) and a service error with
 * {detail, code, field?}. These helpers flatten either into
 * dotted paths ("collection_rules.1.n") so a form can show each message at its field.
 */

export type FieldErrors = Record<string, string>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Every message in `body`, keyed by its dotted path ("" for errors about the whole body). */
export function flattenErrors(body: unknown, prefix = ""): FieldErrors {
  const out: FieldErrors = {};
  const add = (path: string, message: string) => {
    out[path] = out[path] ? `${out[path]} ${message}` : message;
  };
  const walk = (value: unknown, path: string) => {
    if (typeof value === "string") {
      add(path, value);
    } else if (Array.isArray(value)) {
      if (value.every((item) => typeof item === "string")) {
        for (const item of value) add(path, item as string);
      } else {
        value.forEach((item, index) => walk(item, join(path, String(index))));
      }
    } else if (isRecord(value)) {
      for (const [key, inner] of Object.entries(value)) {
        walk(inner, key === "non_field_errors" ? path : join(path, key));
      }
    }
  };
  if (isRecord(body) && typeof body.detail === "string") {
    // A bad body's 400 keeps its per-field errors beside the summary in `detail`.
    const { detail, code, field, ...fields } = body;
    if (code === "invalid" && Object.keys(fields).length > 0) {
      walk(fields, prefix);
      return out;
    }
    add(typeof field === "string" ? join(prefix, field) : prefix, detail as string);
    return out;
  }
  walk(body, prefix);
  return out;
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** The words for a dotted path: "collection_rules.1.n" → "collection rules › rule 2 › n". */
export function describePath(path: string): string {
  return path
    .split(".")
    .map((part) => (/^\d+$/.test(part) ? `#${Number(part) + 1}` : part.replaceAll("_", " ")))
    .join(" › ");
}

/** One line per message, each naming its field: for a banner when no form field shows it. */
export function errorLines(body: unknown): string[] {
  return Object.entries(flattenErrors(body)).map(([path, message]) => (path ? `${describePath(path)}: ${message}` : message));
}
