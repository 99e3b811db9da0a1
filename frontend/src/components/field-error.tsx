import { ApiError } from "../api/client";
import { flattenErrors, type FieldErrors } from "../api/field-errors";

/** The message for one field, under it; `id` lets the input point at it (aria-describedby). */
export function FieldError({ errors, path, id }: { errors: FieldErrors; path: string; id?: string }) {
  const message = errors[path];
  if (!message) return null;
  return (
    <span className="field-error" id={id} data-testid={`error-${path}`}>
      {message}
    </span>
  );
}

/** A failed request as field errors: a 400's body by path (under `prefix`), anything else at "". */
export function fieldErrorsOf(error: unknown, prefix = ""): FieldErrors {
  if (error instanceof ApiError && error.status === 400 && error.body) {
    const errors = flattenErrors(error.body, prefix);
    if (Object.keys(errors).length > 0) return errors;
  }
  return { "": error instanceof Error ? error.message : String(error) };
}

/** Errors whose path no field on the form shows: they go in the banner, with their field named. */
export function unplacedErrors(errors: FieldErrors, placed: (path: string) => boolean): string[] {
  return Object.entries(errors)
    .filter(([path]) => path === "" || !placed(path))
    .map(([path, message]) => (path ? `${path.replaceAll("_", " ")}: ${message}` : message));
}
