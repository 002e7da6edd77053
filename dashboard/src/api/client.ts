// The typed API client. Types come from api-server/openapi.json (`npm run gen:api`); a test
// fails when src/api/schema.d.ts is stale.

import createClient, { type Middleware } from "openapi-fetch";
import type { paths } from "./schema";
import { ApiError, isProblem } from "./problem";

const CSRF_HEADER = "X-CSRF-Token";
const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

let csrfToken: string | undefined;
const expiredListeners = new Set<() => void>();

/** Remembers the session's CSRF token; every cookie-authenticated change sends it. */
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

/** Called when a request comes back 401 while signed in: the session ended. */
export function onSessionExpired(listener: () => void): () => void {
  expiredListeners.add(listener);
  return () => expiredListeners.delete(listener);
}

const session: Middleware = {
  onRequest({ request }) {
    if (!SAFE.has(request.method) && csrfToken) {
      request.headers.set(CSRF_HEADER, csrfToken);
    }
    return request;
  },
  onResponse({ response, request }) {
    const url = new URL(request.url, window.location.origin);
    if (response.status === 401 && csrfToken && !url.pathname.startsWith("/auth/")) {
      csrfToken = undefined;
      expiredListeners.forEach((l) => l());
    }
    return response;
  },
};

export const api = createClient<paths>({
  baseUrl: "",
  credentials: "same-origin",
});
api.use(session);

/**
 * The data of an openapi-fetch result, or an ApiError carrying the problem document.
 * Usage: `unwrap(await api.GET("/api/v1/me"))`.
 */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.response.ok && result.data !== undefined) return result.data;
  if (result.response.ok) return undefined as T;
  const problem = isProblem(result.error) ? result.error : undefined;
  throw new ApiError(result.response.status, problem, result.response.statusText);
}
