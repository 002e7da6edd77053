// Drafts: what someone typed into a form, kept in this tab's sessionStorage until the form
// is sent. A session that ends mid-typing returns to sign-in; after signing in again the
// page comes back with the form as it was. Signing out forgets every draft.

import type { FormInstance } from "antd";
import { useCallback, useEffect, useRef } from "react";

const PREFIX = "consortia.draft.";

function read(key: string): Record<string, unknown> | undefined {
  try {
    const raw = window.sessionStorage.getItem(PREFIX + key);
    const value: unknown = raw ? JSON.parse(raw) : undefined;
    return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Forgets every draft (signing out). */
export function clearDrafts(): void {
  for (let i = window.sessionStorage.length - 1; i >= 0; i--) {
    const k = window.sessionStorage.key(i);
    if (k?.startsWith(PREFIX)) window.sessionStorage.removeItem(k);
  }
}

/**
 * Keeps `form`'s values as a draft under `key` (e.g. the page and form): restores them when
 * the form mounts, saves them on every change (`onValuesChange`), forgets them when sent
 * (`clear`). Only plain JSON values are kept: no files, no dates.
 */
export function useDraft<T>(form: FormInstance<T>, key: string) {
  const restored = useRef(false);
  useEffect(() => {
    if (restored.current) return;
    restored.current = true;
    const saved = read(key);
    if (saved) form.setFieldsValue(saved as never);
  }, [form, key]);
  const onValuesChange = useCallback(() => {
    try {
      window.sessionStorage.setItem(PREFIX + key, JSON.stringify(form.getFieldsValue(true)));
    } catch {
      // Storage full or disabled: the form still works, only the draft is lost.
    }
  }, [form, key]);
  const clear = useCallback(() => window.sessionStorage.removeItem(PREFIX + key), [key]);
  return { onValuesChange, clear };
}
