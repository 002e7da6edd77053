// Errors from the API are RFC 9457 problem documents; this module turns them into what the
// console shows: a message with the server's `detail`, and per-field messages for a 422.

import type { components } from "./schema";

export type Problem = components["schemas"]["Problem"];
export type FieldError = components["schemas"]["FieldError"];

/** A failed API call: its status and, when the server sent one, its problem document. */
export class ApiError extends Error {
  readonly status: number;
  readonly problem?: Problem;

  constructor(status: number, problem?: Problem, fallback?: string) {
    super(problem?.detail || problem?.title || fallback || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.problem = problem;
  }

  /** The field errors a validation problem carries (empty for other problems). */
  get fieldErrors(): FieldError[] {
    return this.problem?.errors ?? [];
  }
}

/** True for anything shaped like a problem document. */
export function isProblem(body: unknown): body is Problem {
  if (typeof body !== "object" || body === null) return false;
  const b = body as Record<string, unknown>;
  return typeof b.status === "number" && typeof b.title === "string";
}

/**
 * A JSON pointer (RFC 6901) as a form field path: `/owner/email` → `["owner", "email"]`,
 * `/items/2/hash` → `["items", 2, "hash"]`. The empty pointer (the whole body) is `[]`.
 */
export function pointerToPath(pointer: string): (string | number)[] {
  if (pointer === "" || pointer === "/") return [];
  return pointer
    .replace(/^\//, "")
    .split("/")
    .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((part) => (/^(0|[1-9][0-9]*)$/.test(part) ? Number(part) : part));
}

/** A form's field errors, grouped by field path; messages for the whole body go under `[]`. */
export function formErrors(
  errors: FieldError[],
): { name: (string | number)[]; errors: string[] }[] {
  const byField = new Map<string, { name: (string | number)[]; errors: string[] }>();
  for (const e of errors) {
    const name = pointerToPath(e.pointer);
    const key = JSON.stringify(name);
    const entry = byField.get(key) ?? { name, errors: [] };
    entry.errors.push(e.detail);
    byField.set(key, entry);
  }
  return [...byField.values()];
}

/** The subset of an antd form that takes field errors. */
type SettableForm = { setFields: (fields: never[]) => void };

/**
 * Puts a 422's field errors on the matching fields of a form; errors about the whole body
 * land on `whole` when given; `rename` maps a body path to the form's field where the two
 * are shaped differently. Returns whether there were any.
 */
export function showFieldErrors(
  form: SettableForm,
  error: unknown,
  whole?: string,
  rename: (path: (string | number)[]) => (string | number)[] = (p) => p,
): boolean {
  if (!(error instanceof ApiError) || error.fieldErrors.length === 0) return false;
  const fields = formErrors(error.fieldErrors).map((f) => ({
    name: f.name.length === 0 && whole ? [whole] : rename(f.name),
    errors: f.errors,
  }));
  form.setFields(fields as never[]);
  return true;
}
