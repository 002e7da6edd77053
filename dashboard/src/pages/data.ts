// Queries the pages share. Lists that change through other people's actions (alliances,
// invitations, chain phases) are refreshed by the live feed, and poll only while it is down.

import { useQueries, useQuery } from "@tanstack/react-query";
import { usePoll } from "../api/live";
export { LIVE_MS } from "../api/live";
import { api, unwrap } from "../api/client";
import type { components } from "../api/schema";
import { useSession } from "../auth/session";

export type Alliance = components["schemas"]["AllianceView"];
export type Chain = components["schemas"]["ChainView"];
export type Invitation = components["schemas"]["InvitationView"];

/** The current tenant's alliances (first page of 200). */
export function useAlliances() {
  const { tenantId } = useSession();
  const poll = usePoll();
  return useQuery({
    queryKey: ["alliances", tenantId],
    enabled: tenantId !== undefined,
    refetchInterval: poll,
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
  const { tenantId } = useSession();
  const alliances = useAlliances();
  const poll = usePoll();
  const chains = useQuery({
    queryKey: ["chains", "all", tenantId],
    enabled: tenantId !== undefined,
    refetchInterval: poll,
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/chains", {
          params: { query: { tenant_id: tenantId, limit: 200 } },
        }),
      ).items,
  });
  const byId = new Map((alliances.data ?? []).map((a) => [a.id, a]));
  return {
    isPending: alliances.isPending || chains.isPending,
    error: alliances.error ?? chains.error ?? null,
    refetch: () => {
      void alliances.refetch();
      void chains.refetch();
    },
    data: (chains.data ?? []).flatMap((chain) => {
      const alliance = byId.get(chain.alliance_id);
      return alliance ? [{ chain, alliance }] : [];
    }),
  };
}

/** Invitations addressed to the current tenant that wait for an answer. */
export function usePendingInvitations() {
  const { tenantId } = useSession();
  const poll = usePoll();
  return useQuery({
    queryKey: ["invitations", tenantId],
    enabled: tenantId !== undefined,
    refetchInterval: poll,
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/invitations", {
          params: { query: { tenant_id: tenantId, limit: 200 } },
        }),
      ).items.filter((i) => i.status === "pending"),
  });
}

type Proposal = components["schemas"]["ProposalView"];
type Certificate = components["schemas"]["CertificateView"];

/** Per alliance of the current tenant, one query each: open proposals it has not voted on,
 * and certificates expiring within 30 days (the lists the overview sums up). */
function usePerAlliance<T>(key: string, read: (allianceId: string, tenantId: string) => Promise<T[]>) {
  const { tenantId } = useSession();
  const alliances = useAlliances();
  const poll = usePoll();
  const list = alliances.data ?? [];
  const results = useQueries({
    queries: list.map((a) => ({
      queryKey: [key, a.id, tenantId],
      enabled: tenantId !== undefined,
      refetchInterval: poll,
      queryFn: () => read(a.id, tenantId!),
    })),
  });
  return {
    isPending: alliances.isPending || results.some((r) => r.isPending),
    error: alliances.error ?? results.find((r) => r.error)?.error ?? null,
    refetch: () => {
      void alliances.refetch();
      results.forEach((r) => void r.refetch());
    },
    data: results.flatMap((r, i) => (r.data ?? []).map((item) => ({ item, alliance: list[i]! }))),
  };
}

/** Open proposals the current tenant may still vote on. */
export function usePendingVotes() {
  return usePerAlliance<Proposal>("pending-votes", async (alliance, tenant) =>
    unwrap(
      await api.GET("/api/v1/alliances/{alliance_id}/proposals", {
        params: { path: { alliance_id: alliance }, query: { status: "open", limit: 200 } },
      }),
    ).items.filter((p) => p.eligible_tenant_ids.includes(tenant) && !p.votes.some((v) => v.tenant_id === tenant)),
  );
}

/** Valid certificates of the current tenant's alliances that expire within 30 days. */
export function useExpiringCertificates() {
  return usePerAlliance<Certificate>("expiring-certificates", async (alliance) =>
    unwrap(
      await api.GET("/api/v1/alliances/{alliance_id}/certificates", {
        params: { path: { alliance_id: alliance }, query: { status: "valid", expiring_within_days: 30, limit: 200 } },
      }),
    ).items,
  );
}
