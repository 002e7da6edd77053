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
const listeners = new Set<() => void>();
function setConnected(value: boolean) {
  if (connected === value) return;
  connected = value;
  listeners.forEach((l) => l());
}
function subscribe(l: () => void) {
  listeners.add(l);
  return () => listeners.delete(l);
}

/** Whether the live feed is connected. */
export function useLiveConnected(): boolean {
  return useSyncExternalStore(subscribe, () => connected);
}

/** A query's refetch interval: none while the feed is connected, `ms` while it is down. */
export function usePoll(ms: number = LIVE_MS): number | false {
  return useLiveConnected() ? false : ms;
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
    source.onerror = () => setConnected(false);
    return () => {
      source.close();
      setConnected(false);
    };
  }, [qc, tenantId]);
}
