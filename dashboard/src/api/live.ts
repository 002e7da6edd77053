// The live feed: one EventSource on GET /api/v1/events while signed in. Each event marks
// the queries it concerns as stale, so what is on screen changes without a reload; while the
// feed is connected nothing polls, and when it drops, lists poll (LIVE_MS) until it is back.

import { useQueryClient, type QueryClient } from "@tanstack/react-query";
import { useEffect, useSyncExternalStore } from "react";
import type { components } from "./schema";

type LiveChain = components["schemas"]["LiveChain"];
type AllianceEvent = components["schemas"]["AllianceEventView"];
type LiveInvitation = components["schemas"]["LiveInvitation"];

/** How often lists others change are read again while the feed is down, in milliseconds. */
export const LIVE_MS = 3_000;

let connected = false;
/** Failed connection attempts since the feed was last up. */
let failures = 0;
const listeners = new Set<() => void>();
function notify() {
  listeners.forEach((l) => l());
}
function setConnected(value: boolean) {
  if (value) failures = 0;
  if (connected === value) return;
  connected = value;
  notify();
}
function failed() {
  failures += 1;
  connected = false;
  notify();
}
function subscribe(l: () => void) {
  listeners.add(l);
  return () => listeners.delete(l);
}

/** Whether the live feed is connected. */
export function useLiveConnected(): boolean {
  return useSyncExternalStore(subscribe, () => connected);
}

/** The polling interval after `failures` failed attempts to reach the feed: `ms`, doubled
 * for each failure after the first, at most eight times `ms` (exported for tests). */
export function backOff(ms: number, failures: number): number {
  return ms * 2 ** Math.min(Math.max(failures - 1, 0), 3);
}

/** A query's refetch interval: none while the feed is connected; while it is down, `ms`
 * backing off as attempts to reconnect keep failing (a server that is down is not polled
 * harder than it can answer). */
export function usePoll(ms: number = LIVE_MS): number | false {
  const live = useLiveConnected();
  const misses = useSyncExternalStore(subscribe, () => failures);
  return live ? false : backOff(ms, misses);
}

/** What each event makes stale (exported for tests). */
export function staleKeys(event: string, data: unknown): unknown[][] {
  switch (event) {
    case "chain": {
      const c = data as LiveChain;
      return [["chain", c.chain_id], ["chains"]];
    }
    case "alliance_event": {
      const e = data as AllianceEvent;
      const keys: unknown[][] = [["alliance", e.alliance_id], ["proposals", e.alliance_id], ["events", e.alliance_id], ["alliances"]];
      if (e.kind.startsWith("chain_")) keys.push(["chains"]);
      if (e.kind.startsWith("proposal_") || e.kind === "vote_cast") keys.push(["pending-votes"]);
      return keys;
    }
    case "invitation": {
      const i = data as LiveInvitation;
      return [["invitations", i.tenant_id], ["invitations"]];
    }
    default:
      return [];
  }
}

function invalidate(qc: QueryClient, keys: unknown[][]) {
  for (const queryKey of keys) void qc.invalidateQueries({ queryKey });
}

/** Keeps the feed open for `tenantId` while mounted (the signed-in shell). */
export function useLiveFeed(tenantId: string | undefined) {
  const qc = useQueryClient();
  useEffect(() => {
    if (typeof EventSource === "undefined") return;
    const url = tenantId ? `/api/v1/events?tenant_id=${encodeURIComponent(tenantId)}` : "/api/v1/events";
    const source = new EventSource(url, { withCredentials: true });
    const everything = () => void qc.invalidateQueries({ predicate: (q) => q.queryKey[0] !== "session" && q.queryKey[0] !== "auth-config" });
    source.addEventListener("ready", () => {
      // Changes made while the feed was down are read once.
      if (connected) return;
      setConnected(true);
      everything();
    });
    source.addEventListener("resync", everything);
    for (const name of ["chain", "alliance_event", "invitation"]) {
      source.addEventListener(name, (e) => {
        try {
          invalidate(qc, staleKeys(name, JSON.parse((e as MessageEvent<string>).data)));
        } catch {
          everything();
        }
      });
    }
    // The browser reconnects by itself (the server asks for 3 s); meanwhile lists poll.
    source.onerror = () => failed();
    return () => {
      source.close();
      setConnected(false);
    };
  }, [qc, tenantId]);
}
