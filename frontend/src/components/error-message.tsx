import { ApiError } from "../api/client";

export function ErrorMessage({ error, title }: { error: unknown; title?: string }) {
  const message = error instanceof Error ? error.message : String(error);
  // The status is worth showing once, not twice when the message already names it.
  const status = error instanceof ApiError && error.status > 0 && !message.includes(`HTTP ${error.status}`) ? ` (HTTP ${error.status})` : "";
  return (
    <div className="alert alert-error" role="alert">
      {title ? <strong>{title}: </strong> : null}
      {message}
      {status}
    </div>
  );
}
