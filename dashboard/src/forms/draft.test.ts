import { beforeEach, describe, expect, it } from "vitest";
import { clearDrafts } from "./draft";

/** The part of the Storage API drafts use, in memory. */
class MemoryStorage {
  private items = new Map<string, string>();
  get length() {
    return this.items.size;
  }
  key(i: number) {
    return [...this.items.keys()][i] ?? null;
  }
  getItem(k: string) {
    return this.items.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.items.set(k, v);
  }
  removeItem(k: string) {
    this.items.delete(k);
  }
}

describe("drafts", () => {
  let storage: MemoryStorage;
  beforeEach(() => {
    storage = new MemoryStorage();
    (globalThis as unknown as { window: unknown }).window = { sessionStorage: storage };
  });

  it("signing out forgets every draft and nothing else", () => {
    storage.setItem("consortia.draft.alliances/found", JSON.stringify({ name: "x" }));
    storage.setItem("consortia.draft.chains/new", "{}");
    storage.setItem("consortia.returnTo", "/chains");
    clearDrafts();
    expect(storage.getItem("consortia.draft.alliances/found")).toBeNull();
    expect(storage.getItem("consortia.draft.chains/new")).toBeNull();
    expect(storage.getItem("consortia.returnTo")).toBe("/chains");
  });
});
