// The browser session: who is signed in, their CSRF token, the tenant they act in, and what
// happens when the session ends mid-work (back to sign-in, then back to the same page).

import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api, onSessionExpired, setCsrfToken, unwrap } from "../api/client";
import { ApiError } from "../api/problem";
import { clearDrafts } from "../forms/draft";
import type { components } from "../api/schema";

export type Me = components["schemas"]["Me"];
export type SessionInfo = components["schemas"]["SessionInfo"];
export type AuthConfig = components["schemas"]["AuthConfig"];
export type Tenant = components["schemas"]["TenantView"];
export type Role = components["schemas"]["Role"];

const TENANT_KEY = "consortia.tenant";
/** Where to go back to after signing in again (set when the session ended on a page). */
export const RETURN_KEY = "consortia.returnTo";

type Session = {
  /** The signed-in caller, or null when signed out. */
  me: Me | null;
  config: AuthConfig | undefined;
  /** True when the session ended while the person was working. */
  expired: boolean;
  /** The tenants the caller may act in: its memberships, and every tenant for a platform
   * administrator. */
  tenants: { tenant: Tenant; role: Role }[];
  /** The tenant the console acts in (one of `tenants`). */
  tenantId: string | undefined;
  setTenantId: (id: string) => void;
  signInWithToken: (token: string) => Promise<void>;
  signOut: () => Promise<void>;
};

const SessionContext = createContext<Session | null>(null);

/** Every tenant, for a platform administrator's switcher (first 200). */
async function allTenants(): Promise<Tenant[]> {
  return unwrap(await api.GET("/api/v1/tenants", { params: { query: { limit: 200 } } })).items;
}

async function loadSession(): Promise<{ info: SessionInfo; me: Me } | null> {
  const res = await api.GET("/auth/session");
  if (res.response.status === 401) {
    setCsrfToken(undefined);
    return null;
  }
  const info = unwrap(res);
  setCsrfToken(info.csrf_token);
  const me = unwrap(await api.GET("/api/v1/me"));
  return { info, me };
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const qc = useQueryClient();
  const [expired, setExpired] = useState(false);
  const [tenantChoice, setTenantChoice] = useState<string | null>(() =>
    window.localStorage.getItem(TENANT_KEY),
  );
  const session = useQuery({ queryKey: ["session"], queryFn: loadSession, retry: false });
  const config = useQuery({
    queryKey: ["auth-config"],
    queryFn: async () => unwrap(await api.GET("/auth/config")),
    staleTime: Infinity,
  });

  useEffect(
    () =>
      onSessionExpired(() => {
        window.sessionStorage.setItem(
          RETURN_KEY,
          window.location.pathname + window.location.search,
        );
        setExpired(true);
        qc.setQueryData(["session"], null);
      }),
    [qc],
  );

  const signInWithToken = useCallback(
    async (token: string) => {
      const info = unwrap(await api.POST("/auth/token", { body: { token } }));
      setCsrfToken(info.csrf_token);
      const me = unwrap(await api.GET("/api/v1/me"));
      setExpired(false);
      qc.setQueryData(["session"], { info, me });
      await qc.invalidateQueries({ predicate: (q) => q.queryKey[0] !== "session" });
    },
    [qc],
  );

  const signOut = useCallback(async () => {
    const res = await api.POST("/auth/logout");
    setCsrfToken(undefined);
    clearDrafts();
    // Signed out first (the session query's observers see it and show sign-in), then every
    // other cached answer goes: clearing the whole cache would also drop the session query
    // its observers listen to, and nothing would re-render.
    qc.setQueryData(["session"], null);
    qc.removeQueries({ predicate: (q) => q.queryKey[0] !== "session" && q.queryKey[0] !== "auth-config" });
    const next = res.data?.end_session_url;
    if (next) window.location.assign(next);
  }, [qc]);

  const me = session.data?.me ?? null;
  const admin = me?.user.is_platform_admin === true;
  const everyTenant = useQuery({
    queryKey: ["tenants", "all"],
    enabled: admin,
    queryFn: allTenants,
  });
  const tenants = useMemo(() => {
    const mine = (me?.memberships ?? []).map((m) => ({ tenant: m.tenant, role: m.role }));
    const more = (admin ? (everyTenant.data ?? []) : [])
      .filter((t) => !mine.some((m) => m.tenant.id === t.id))
      .map((tenant) => ({ tenant, role: "owner" as Role }));
    return [...mine, ...more];
  }, [me, admin, everyTenant.data]);
  const tenantId =
    tenants.find((m) => m.tenant.id === tenantChoice)?.tenant.id ?? tenants[0]?.tenant.id;
  const setTenantId = useCallback((id: string) => {
    window.localStorage.setItem(TENANT_KEY, id);
    setTenantChoice(id);
  }, []);

  const value = useMemo<Session>(
    () => ({
      me,
      config: config.data,
      expired,
      tenants,
      tenantId,
      setTenantId,
      signInWithToken,
      signOut,
    }),
    [me, config.data, expired, tenants, tenantId, setTenantId, signInWithToken, signOut],
  );

  if (session.isPending) return null;
  if (session.isError) {
    const e = session.error;
    throw e instanceof ApiError ? e : new Error(String(e));
  }
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const ctx = useContext(SessionContext);
  if (!ctx) throw new Error("useSession outside SessionProvider");
  return ctx;
}

/** Whether the caller administers the current tenant (admin or owner): what founding,
 * proposing, voting, creating chains and issuing certificates need. */
export function useIsAdmin(): boolean {
  const role = useRole();
  return role === "admin" || role === "owner";
}

/** The caller's role in the current tenant (a platform administrator acts as an owner). */
export function useRole(): Role | undefined {
  const { tenants, tenantId } = useSession();
  return tenants.find((m) => m.tenant.id === tenantId)?.role;
}
