/**
 * The one fetch wrapper for the REST API: same-origin session cookies, the CSRF
 * header on unsafe methods, JSON in and out, and errors as ApiError.
 */
import { errorLines } from "./field-errors";

export class ApiError extends Error {
  readonly status: number;
  readonly code: string | undefined;
  readonly body: unknown;

  constructor(status: number, body: unknown) {
    super(errorMessage(status, body));
    this.name = "ApiError";
    this.status = status;
    this.body = body;
    this.code = isRecord(body) && typeof body.code === "string" ? body.code : undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A readable message from DRF's `{detail}` or (nested) field-error dicts. */
export function errorMessage(status: number, body: unknown): string {
  if (isRecord(body) && typeof body.detail === "string") return body.detail;
  if (isRecord(body) || Array.isArray(body)) {
    const lines = errorLines(body);
    if (lines.length > 0) return lines.join("; ");
  }
  if (typeof body === "string" && body.length > 0 && body.length < 200) return body;
  return `Request failed (HTTP ${status})`;
}

export function readCookie(name: string, cookie: string = document.cookie): string | undefined {
  for (const part of cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return undefined;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export function csrfHeaders(method: string): Record<string, string> {
  if (SAFE_METHODS.has(method.toUpperCase())) return {};
  const token = readCookie("csrftoken");
  return token ? { "X-CSRFToken": token } : {};
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  signal?: AbortSignal;
}

/**
 * Calls the API and returns the parsed JSON (or null for an empty body).
 * Throws ApiError for any non-2xx answer.
 */
export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const method = options.method ?? (options.body === undefined ? "GET" : "POST");
  const headers: Record<string, string> = { Accept: "application/json", ...csrfHeaders(method) };
  let body: BodyInit | undefined;
  if (options.body instanceof FormData) {
    body = options.body;
  } else if (options.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.body);
  }
  const response = await fetch(path, {
    method,
    headers,
    body,
    credentials: "same-origin",
    signal: options.signal,
  });
  const text = response.status === 204 ? "" : await response.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data as T;
}

/** Statuses that mean "this endpoint does not exist on this server yet". */
export function isNotAvailable(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 404 || error.status === 405 || error.status === 501);
}

/** Unwraps a DRF list that may or may not be paginated. */
export function listResults<T>(data: T[] | { results: T[] }): T[] {
  return Array.isArray(data) ? data : data.results;
}
