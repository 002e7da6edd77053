// Ways in: invitation links into the tenant, the caller's own API tokens, the tenant's
// service-account tokens, and the caller's browser sessions. Secrets are shown once.

import { App, Button, Checkbox, DatePicker, Form, Input, InputNumber, Popconfirm, Select, Table, Tooltip } from "antd";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, unwrap } from "../../api/client";
import { showFieldErrors } from "../../api/problem";
import type { components } from "../../api/schema";
import { useIsAdmin, useRole, useSession, type Role } from "../../auth/session";
import { useI18n } from "../../i18n";
import { Nothing, Queried, type ListQuery } from "../../layout/States";
import { StatusTag } from "../../layout/StatusTag";
import { useMembers } from "./Members";
import { Section, ShownOnce, when } from "./shared";

type Invite = components["schemas"]["InviteView"];
type Token = components["schemas"]["TokenView"];
type SessionRow = components["schemas"]["SessionView"];
type Expiry = { expires_at?: { toISOString: () => string } | null };

/** A list query as a plain table, with its loading, error and empty states. */
function Listing<T extends object>({ query, rowKey, columns, empty }: {
  query: ListQuery<T>;
  rowKey: (row: T) => string;
  columns: NonNullable<Parameters<typeof Table<T>>[0]["columns"]>;
  empty?: string;
}) {
  return <Queried query={query} empty={empty}>{(rows) => <Table<T> rowKey={rowKey} dataSource={rows} pagination={false} columns={columns} />}</Queried>;
}

export function Invites() {
  const { t } = useI18n();
  const { tenantId } = useSession();
  const { message } = App.useApp();
  const qc = useQueryClient();
  const admin = useIsAdmin();
  const owner = useRole() === "owner";
  const [form] = Form.useForm<{ role: Role; email?: string; expires_in_hours?: number }>();
  const [link, setLink] = useState<string>();
  const invites = useQuery({
    queryKey: ["invites", tenantId],
    enabled: tenantId !== undefined && admin,
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/tenants/{tenant_id}/invites", { params: { path: { tenant_id: tenantId! }, query: { limit: 200 } } })).items,
  });
  const create = useMutation({
    mutationFn: async (body: { role: Role; email?: string; expires_in_hours?: number }) =>
      unwrap(await api.POST("/api/v1/tenants/{tenant_id}/invites", { params: { path: { tenant_id: tenantId! } }, body: { ...body, email: body.email || undefined } })),
    onSuccess: (i) => {
      form.resetFields();
      void qc.invalidateQueries({ queryKey: ["invites"] });
      if (i.url) setLink(i.url);
    },
    onError: (e) => {
      if (!showFieldErrors(form, e)) void message.error(e.message);
    },
  });
  const revoke = useMutation({
    mutationFn: async (id: string) =>
      unwrap(await api.DELETE("/api/v1/tenants/{tenant_id}/invites/{invite_id}", { params: { path: { tenant_id: tenantId!, invite_id: id } } })),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ["invites"] }),
    onError: (e) => void message.error(e.message),
  });
  return (
    <Section title={t("admin.invites")}>
      {!admin && <Nothing text={t("admin.needsAdmin")} />}
      {admin && (
        <>
          <Form form={form} name="invite" layout="inline" onFinish={(v) => create.mutate(v)} initialValues={{ role: "viewer", expires_in_hours: 168 }} style={{ rowGap: 8, marginBottom: 8 }}>
            <Form.Item name="role" label={t("admin.role")}>
              <Select style={{ width: 130 }} options={(["viewer", "developer", "admin", "owner"] as Role[]).map((r) => ({ value: r, label: t(`role.${r}`), disabled: r === "owner" && !owner }))} />
            </Form.Item>
            <Form.Item name="email" label={t("admin.inviteEmail")} rules={[{ type: "email", message: t("admin.emailInvalid") }]}>
              <Input style={{ width: 220 }} />
            </Form.Item>
            <Form.Item name="expires_in_hours" label={t("admin.validHours")} rules={[{ type: "number", min: 1, max: 720, message: t("admin.validHoursRange") }]}>
              <InputNumber style={{ width: 100 }} />
            </Form.Item>
            <Form.Item>
              <Button type="primary" htmlType="submit" loading={create.isPending}>
                {t("admin.createInvite")}
              </Button>
            </Form.Item>
          </Form>
          <Listing<Invite>
            query={invites}
            rowKey={(i) => i.id}
            columns={[
              { title: t("admin.role"), render: (_, i) => t(`role.${i.role as Role}`) },
              { title: t("admin.inviteEmail"), render: (_, i) => i.email ?? t("admin.anyone") },
              { title: t("common.status"), render: (_, i) => <StatusTag tone={i.status === "pending" ? "busy" : i.status === "used" ? "good" : "none"}>{t(`inviteStatus.${i.status as "pending"}`)}</StatusTag> },
              { title: t("admin.expires"), render: (_, i) => when(i.expires_at) },
              {
                title: "",
                render: (_, i) =>
                  i.status === "pending" && (
                    <Popconfirm title={t("admin.revokeConfirm")} onConfirm={() => revoke.mutate(i.id)}>
                      <Button danger size="small">{t("admin.revoke")}</Button>
                    </Popconfirm>
                  ),
              },
            ]}
          />
        </>
      )}
      {link && <ShownOnce title={t("admin.inviteLink")} secret={link} onClose={() => setLink(undefined)} />}
    </Section>
  );
}

type NewToken = { name: string; scoped?: boolean; user_id?: string } & Expiry;

/** The caller's own tokens (`service` false) or the tenant's service accounts' (`service` true). */
export function Tokens({ service }: { service: boolean }) {
  const { t } = useI18n();
  const { tenantId } = useSession();
  const { message } = App.useApp();
  const qc = useQueryClient();
  const admin = useIsAdmin();
  const members = useMembers();
  const accounts = (members.data ?? []).filter((m) => m.user.kind === "service");
  const [form] = Form.useForm<NewToken>();
  const [secret, setSecret] = useState<string>();
  const key = service ? ["tenant-tokens", tenantId] : ["my-tokens"];
  const tokens = useQuery({
    queryKey: key,
    enabled: !service || (tenantId !== undefined && admin),
    queryFn: async () =>
      service
        ? unwrap(await api.GET("/api/v1/tenants/{tenant_id}/tokens", { params: { path: { tenant_id: tenantId! }, query: { limit: 200 } } })).items
        : unwrap(await api.GET("/api/v1/tokens", { params: { query: { limit: 200 } } })).items,
  });
  const create = useMutation({
    mutationFn: async ({ name, scoped, user_id, expires_at }: NewToken) => {
      const expiry = expires_at ? expires_at.toISOString() : undefined;
      return service
        ? unwrap(await api.POST("/api/v1/tenants/{tenant_id}/tokens", { params: { path: { tenant_id: tenantId! } }, body: { name, user_id, expires_at: expiry } }))
        : unwrap(await api.POST("/api/v1/tokens", { body: { name, expires_at: expiry, tenant_id: scoped ? tenantId : undefined } }));
    },
    onSuccess: (created) => {
      form.resetFields();
      void qc.invalidateQueries({ queryKey: key });
      setSecret(created.secret);
    },
    onError: (e) => {
      if (!showFieldErrors(form, e)) void message.error(e.message);
    },
  });
  const revoke = useMutation({
    mutationFn: async (id: string) =>
      service
        ? unwrap(await api.DELETE("/api/v1/tenants/{tenant_id}/tokens/{token_id}", { params: { path: { tenant_id: tenantId!, token_id: id } } }))
        : unwrap(await api.DELETE("/api/v1/tokens/{token_id}", { params: { path: { token_id: id } } })),
    onSuccess: () => void qc.invalidateQueries({ queryKey: key }),
    onError: (e) => void message.error(e.message),
  });
  const title = service ? t("admin.serviceTokens") : t("admin.myTokens");
  if (service && !admin) return <Section title={title}><Nothing text={t("admin.needsAdmin")} /></Section>;
  const who = (id: string) => (members.data ?? []).find((m) => m.user.id === id)?.user.display_name ?? id.slice(0, 8);
  return (
    <Section title={title}>
      <Form<NewToken> form={form} name={service ? "service-token" : "my-token"} layout="inline" onFinish={(v) => create.mutate(v)} style={{ rowGap: 8, marginBottom: 8 }}>
        <Form.Item name="name" label={t("admin.tokenName")} rules={[{ required: true, max: 100 }]}>
          <Input style={{ width: 180 }} />
        </Form.Item>
        {service ? (
          <Form.Item name="user_id" label={t("admin.account")} rules={[{ required: true, message: t("admin.accountRequired") }]}>
            <Select style={{ width: 200 }} options={accounts.map((m) => ({ value: m.user.id, label: m.user.display_name }))} notFoundContent={t("admin.noServiceAccounts")} />
          </Form.Item>
        ) : (
          <Form.Item name="scoped" valuePropName="checked">
            <Checkbox>{t("admin.scopeToTenant")}</Checkbox>
          </Form.Item>
        )}
        <Form.Item name="expires_at" label={t("admin.expires")}>
          <DatePicker showTime aria-label={t("admin.expires")} />
        </Form.Item>
        <Form.Item>
          <Button type="primary" htmlType="submit" loading={create.isPending}>
            {t("admin.createToken")}
          </Button>
        </Form.Item>
      </Form>
      <Listing<Token>
        query={tokens}
        rowKey={(k) => k.id}
        columns={[
          { title: t("admin.tokenName"), dataIndex: "name" },
          { title: t("admin.prefix"), render: (_, k) => <code>{k.prefix}…</code> },
          ...(service ? [{ title: t("admin.account"), render: (_: unknown, k: Token) => who(k.user_id) }] : []),
          { title: t("common.created"), render: (_, k) => when(k.created_at) },
          { title: t("admin.expires"), render: (_, k) => when(k.expires_at) },
          { title: t("common.status"), render: (_, k) => (k.revoked_at ? <StatusTag tone="none">{t("admin.revoked")}</StatusTag> : <StatusTag tone="good">{t("admin.active")}</StatusTag>) },
          {
            title: "",
            render: (_, k) =>
              !k.revoked_at && (
                <Popconfirm title={t("admin.revokeConfirm")} onConfirm={() => revoke.mutate(k.id)}>
                  <Button danger size="small">{t("admin.revoke")}</Button>
                </Popconfirm>
              ),
          },
        ]}
      />
      {secret && <ShownOnce title={t("admin.tokenCreated")} secret={secret} onClose={() => setSecret(undefined)} />}
    </Section>
  );
}

export function Sessions() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const qc = useQueryClient();
  const sessions = useQuery({
    queryKey: ["sessions"],
    queryFn: async () => unwrap(await api.GET("/api/v1/sessions", { params: { query: { limit: 200 } } })).items,
  });
  const end = useMutation({
    mutationFn: async (id: string) => unwrap(await api.DELETE("/api/v1/sessions/{session_id}", { params: { path: { session_id: id } } })),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ["sessions"] }),
    onError: (e) => void message.error(e.message),
  });
  return (
    <Section title={t("admin.sessions")}>
      <Listing<SessionRow>
        query={sessions}
        rowKey={(s) => s.id}
        columns={[
          { title: t("admin.method"), render: (_, s) => <>{s.method} {s.current && <StatusTag tone="busy">{t("admin.thisSession")}</StatusTag>}</> },
          { title: t("admin.browser"), render: (_, s) => <span style={{ wordBreak: "break-word" }}>{s.user_agent ?? "—"}</span> },
          { title: t("admin.started"), render: (_, s) => when(s.created_at) },
          { title: t("admin.lastSeen"), render: (_, s) => when(s.last_seen_at) },
          {
            title: "",
            render: (_, s) =>
              !s.current && (
                <Tooltip title={t("admin.endHelp")}>
                  <Button size="small" onClick={() => end.mutate(s.id)}>{t("admin.end")}</Button>
                </Tooltip>
              ),
          },
        ]}
      />
    </Section>
  );
}

/** Everything that lets someone in: links, tokens, sessions. */
export function Access() {
  return (
    <>
      <Invites />
      <Tokens service={false} />
      <Tokens service />
      <Sessions />
    </>
  );
}
