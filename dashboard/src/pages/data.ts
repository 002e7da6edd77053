// Queries the pages share. Lists that change through other people's actions (alliances,
// invitations, chain phases) poll until the server pushes events.

/** How often lists others change are read again, in milliseconds. */
export const LIVE_MS = 3_000;

import { useQueries, useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import type { components } from "../api/schema";
import { useSession } from "../auth/session";

export type Alliance = components["schemas"]["AllianceView"];
export type Chain = components["schemas"]["ChainView"];
export type Invitation = components["schemas"]["InvitationView"];

/** The current tenant's alliances (first page of 200). */
export function useAlliances() {
  const { tenantId } = useSession();
  return useQuery({
    queryKey: ["alliances", tenantId],
    enabled: tenantId !== undefined,
    refetchInterval: LIVE_MS,
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/alliances", {
          params: { query: { tenant_id: tenantId, limit: 200 } },
        }),
      ).items,
  });
}

/** The chains of every alliance the current tenant is in, with live phase and height. */
export function useChains() {
  const alliances = useAlliances();
  const list = alliances.data ?? [];
  const chains = useQueries({
    queries: list.map((a) => ({
      queryKey: ["chains", a.id],
      refetchInterval: (q: { state: { data?: Chain[] } }) =>
        q.state.data?.some((c) => c.phase !== "running") ? 2_000 : 5 * LIVE_MS,
      queryFn: async () =>
        unwrap(
          await api.GET("/api/v1/alliances/{alliance_id}/chains", {
            params: { path: { alliance_id: a.id }, query: { limit: 200 } },
          }),
        ).items,
    })),
  });
  const failed = alliances.error ?? chains.find((c) => c.error)?.error ?? null;
  return {
    isPending: alliances.isPending || chains.some((c) => c.isPending),
    error: failed,
    refetch: () => {
      void alliances.refetch();
      chains.forEach((c) => void c.refetch());
    },
    data: chains.flatMap((c, i) =>
      (c.data ?? []).map((chain) => ({ chain, alliance: list[i]! })),
    ),
  };
}

/** Invitations addressed to the current tenant that wait for an answer. */
export function usePendingInvitations() {
  const { tenantId } = useSession();
  return useQuery({
    queryKey: ["invitations", tenantId],
    enabled: tenantId !== undefined,
    refetchInterval: LIVE_MS,
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/invitations", {
          params: { query: { tenant_id: tenantId, limit: 200 } },
        }),
      ).items.filter((i) => i.status === "pending"),
  });
}
