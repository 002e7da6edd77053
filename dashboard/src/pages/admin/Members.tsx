// Members of the tenant and their roles: add a person (or a service account), change a role,
// remove someone. Viewers see the list; admins change it (owners for the owner role).

import { App, Button, Form, Input, Popconfirm, Select, Space, Table, Tag, Tooltip } from "antd";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, unwrap } from "../../api/client";
import { showFieldErrors } from "../../api/problem";
import type { components } from "../../api/schema";
import { useIsAdmin, useRole, useSession, type Role } from "../../auth/session";
import { useI18n } from "../../i18n";
import { Failed, Queried } from "../../layout/States";
import { Section, ShownOnce, when } from "./shared";

type Member = components["schemas"]["MemberView"];
type AddMember = components["schemas"]["AddMember"];
const ROLES: Role[] = ["viewer", "developer", "admin", "owner"];

export function useMembers() {
  const { tenantId } = useSession();
  return useQuery({
    queryKey: ["members", tenantId],
    enabled: tenantId !== undefined,
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/tenants/{tenant_id}/members", { params: { path: { tenant_id: tenantId! }, query: { limit: 200 } } })).items,
  });
}

function AddMemberForm() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const { tenantId } = useSession();
  const qc = useQueryClient();
  const admin = useIsAdmin();
  const owner = useRole() === "owner";
  const [form] = Form.useForm<AddMember>();
  const kind = Form.useWatch("kind", form) ?? "human";
  const [error, setError] = useState<string>();
  const [link, setLink] = useState<string>();
  const add = useMutation({
    mutationFn: async (body: AddMember) => {
      const r = await api.POST("/api/v1/tenants/{tenant_id}/members", { params: { path: { tenant_id: tenantId! } }, body });
      const data = unwrap(r);
      return { invited: r.response.status === 202, data };
    },
    onSuccess: ({ invited, data }) => {
      form.resetFields();
      setError(undefined);
      void qc.invalidateQueries({ queryKey: ["members"] });
      void qc.invalidateQueries({ queryKey: ["invites"] });
      if (invited && "url" in data && data.url) setLink(data.url);
      else void message.success(t("admin.memberAdded"));
    },
    onError: (e) => {
      showFieldErrors(form, e);
      setError(e.message);
    },
  });
  return (
    <>
      <Form<AddMember> form={form} name="add-member" layout="inline" disabled={!admin} onFinish={(v) => add.mutate(v)} initialValues={{ kind: "human", role: "viewer" }} style={{ rowGap: 8, marginBottom: 8 }}>
        <Form.Item name="kind" label={t("admin.kind")}>
          <Select style={{ width: 150 }} options={[{ value: "human", label: t("admin.human") }, { value: "service", label: t("admin.service") }]} />
        </Form.Item>
        {kind === "human" && (
          <Form.Item name="email" label={t("admin.email")} rules={[{ required: true, type: "email", message: t("admin.emailInvalid") }]}>
            <Input style={{ width: 220 }} />
          </Form.Item>
        )}
        <Form.Item name="display_name" label={t("admin.displayName")} rules={[{ required: true, max: 100 }]}>
          <Input style={{ width: 180 }} />
        </Form.Item>
        <Form.Item name="role" label={t("admin.role")}>
          <Select style={{ width: 130 }} options={ROLES.map((r) => ({ value: r, label: t(`role.${r}`), disabled: r === "owner" && !owner }))} />
        </Form.Item>
        <Form.Item>
          <Tooltip title={admin ? undefined : t("admin.needsAdmin")}>
            <Button type="primary" htmlType="submit" loading={add.isPending}>
              {t("admin.addMember")}
            </Button>
          </Tooltip>
        </Form.Item>
      </Form>
      {error && <Failed error={new Error(error)} />}
      {link && <ShownOnce title={t("admin.inviteLink")} secret={link} onClose={() => setLink(undefined)} />}
    </>
  );
}

export function Members() {
  const { t } = useI18n();
  const { tenantId, me } = useSession();
  const qc = useQueryClient();
  const { message } = App.useApp();
  const admin = useIsAdmin();
  const owner = useRole() === "owner";
  const members = useMembers();
  const done = () => void qc.invalidateQueries({ queryKey: ["members"] });
  const change = useMutation({
    mutationFn: async ({ user, role }: { user: string; role: Role }) =>
      unwrap(await api.PATCH("/api/v1/tenants/{tenant_id}/members/{user_id}", { params: { path: { tenant_id: tenantId!, user_id: user } }, body: { role } })),
    onSuccess: done,
    onError: (e) => void message.error(e.message),
  });
  const remove = useMutation({
    mutationFn: async (user: string) =>
      unwrap(await api.DELETE("/api/v1/tenants/{tenant_id}/members/{user_id}", { params: { path: { tenant_id: tenantId!, user_id: user } } })),
    onSuccess: done,
    onError: (e) => void message.error(e.message),
  });
  const canTouch = (m: Member) => admin && (m.role !== "owner" || owner);
  return (
    <Section title={t("admin.members")}>
      <AddMemberForm />
      <Queried query={members}>
        {(rows) => (
        <Table<Member>
          rowKey={(m) => m.user.id}
          dataSource={rows}
          pagination={false}
          columns={[
            { title: t("admin.displayName"), render: (_, m) => <Space>{m.user.display_name}{m.user.id === me?.user.id && <Tag>{t("admin.you")}</Tag>}</Space> },
            { title: t("admin.email"), render: (_, m) => m.user.email ?? "—" },
            { title: t("admin.kind"), render: (_, m) => t(m.user.kind === "service" ? "admin.service" : "admin.human") },
            {
              title: t("admin.role"),
              render: (_, m) => (
                <Tooltip title={canTouch(m) ? undefined : t("admin.needsAdmin")}>
                  <Select
                    aria-label={t("admin.roleOf", { name: m.user.display_name })}
                    size="small"
                    style={{ width: 130 }}
                    value={m.role}
                    disabled={!canTouch(m)}
                    onChange={(role) => change.mutate({ user: m.user.id, role })}
                    options={ROLES.map((r) => ({ value: r, label: t(`role.${r}`), disabled: r === "owner" && !owner }))}
                  />
                </Tooltip>
              ),
            },
            { title: t("admin.joined"), render: (_, m) => when(m.joined_at) },
            {
              title: "",
              render: (_, m) => (
                <Popconfirm title={t("admin.removeConfirm", { name: m.user.display_name })} onConfirm={() => remove.mutate(m.user.id)} disabled={!canTouch(m)}>
                  <Tooltip title={canTouch(m) ? undefined : t("admin.needsAdmin")}>
                    <Button danger size="small" disabled={!canTouch(m)}>
                      {t("admin.remove")}
                    </Button>
                  </Tooltip>
                </Popconfirm>
              ),
            },
          ]}
        />
        )}
      </Queried>
    </Section>
  );
}
