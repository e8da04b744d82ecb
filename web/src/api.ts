// The console talks to the same management API as everyone else (/api/v1), authenticated by the HttpOnly session
// cookie the sign-in sets. Unsafe methods carry the session's CSRF token in X-Chuda-Csrf.

export interface Session {
  workspace: string;
  keyId: string;
  csrfToken: string;
  expiresAt: string;
}

/** An RFC 7807 problem (or a network failure) in words. */
export class ApiError extends Error {
  status: number;
  title: string;
  detail?: string;
  errors?: Record<string, string[]> | unknown;
  body?: unknown;
  constructor(status: number, title: string, detail?: string, body?: unknown) {
    super(detail ? `${title}: ${detail}` : title);
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.body = body;
    this.errors = (body as { errors?: unknown } | undefined)?.errors;
  }
}

let csrfToken: string | null = null;
const unauthorizedListeners = new Set<() => void>();

export function setCsrfToken(token: string | null) {
  csrfToken = token;
}

/** Called when the server answers 401 (session expired or signed out elsewhere). */
export function onUnauthorized(listener: () => void) {
  unauthorizedListeners.add(listener);
  return () => {
    unauthorizedListeners.delete(listener);
  };
}

export interface RequestOptions {
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Answer the raw Response too (for ETag / status). */
  raw?: boolean;
}

async function request<T>(method: string, path: string, body?: unknown, options?: RequestOptions): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json", ...(options?.headers ?? {}) };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && method !== "HEAD" && csrfToken) headers["X-Chuda-Csrf"] = csrfToken;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      signal: options?.signal,
    });
  } catch (e) {
    if ((e as Error).name === "AbortError") throw e;
    throw new ApiError(0, "The server cannot be reached", (e as Error).message);
  }
  const text = await response.text();
  let parsed: unknown = undefined;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  if (!response.ok) {
    if (response.status === 401 && !path.startsWith("/api/v1/session")) unauthorizedListeners.forEach((l) => l());
    const p = (parsed ?? {}) as { title?: string; detail?: string };
    throw new ApiError(response.status, p.title ?? `${response.status} ${response.statusText}`, p.detail, parsed);
  }
  if (options?.raw) return { body: parsed, response } as T;
  return parsed as T;
}

export const api = {
  get: <T>(path: string, options?: RequestOptions) => request<T>("GET", path, undefined, options),
  post: <T>(path: string, body?: unknown, options?: RequestOptions) => request<T>("POST", path, body ?? {}, options),
  put: <T>(path: string, body: unknown, options?: RequestOptions) => request<T>("PUT", path, body, options),
  patch: <T>(path: string, body: unknown, options?: RequestOptions) => request<T>("PATCH", path, body, options),
  del: <T>(path: string, options?: RequestOptions) => request<T>("DELETE", path, undefined, options),
};

/** Query string from an object, leaving out null / undefined / "" values. */
export function qs(params: Record<string, string | number | boolean | null | undefined>): string {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") s.set(k, String(v));
  const q = s.toString();
  return q ? `?${q}` : "";
}

/** Field errors of a 400 problem, flattened to "path: message" lines. */
export function problemLines(error: unknown): string[] {
  if (!(error instanceof ApiError)) return [String((error as Error)?.message ?? error)];
  const lines: string[] = [];
  const errors = error.errors;
  if (errors && typeof errors === "object" && !Array.isArray(errors)) {
    // ASP.NET-style { field: [messages] }
    for (const [field, messages] of Object.entries(errors as Record<string, unknown>)) {
      for (const m of Array.isArray(messages) ? messages : [messages]) lines.push(field ? `${field}: ${m}` : String(m));
    }
  } else if (Array.isArray(errors)) {
    // Chuda's problems: errors = [{ field, message }] (journey checks may add the step).
    for (const e of errors as { field?: string; message?: string }[]) {
      if (typeof e === "string") lines.push(e);
      else if (e && e.message) lines.push(e.field ? `${e.field}: ${e.message}` : e.message);
      else lines.push(JSON.stringify(e));
    }
  }
  if (lines.length === 0) lines.push(error.message);
  return lines;
}
