import { App, Button, Card, Form, Input, InputNumber, List, Select, Space, Table, Tag, Tooltip, Typography } from "antd";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, unwrap } from "../api/client";
import { showFieldErrors } from "../api/problem";
import type { components } from "../api/schema";
import { useIsAdmin, useSession } from "../auth/session";
import { useI18n } from "../i18n";
import { Failed, Loading, Nothing } from "../layout/States";
import { Link } from "react-router";
import { useAlliances, usePendingInvitations, type Invitation } from "./data";
import { useDraft } from "../forms/draft";

type Found = Omit<components["schemas"]["CreateAlliance"], "tenant_id">;

function FoundAlliance() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const { tenantId } = useSession();
  const qc = useQueryClient();
  const [form] = Form.useForm<Found>();
  const draft = useDraft(form, "alliances/found");
  const [error, setError] = useState<string>();
  const allowed = useIsAdmin();
  const found = useMutation({
    mutationFn: async (body: Found) =>
      unwrap(await api.POST("/api/v1/alliances", { body: { ...body, tenant_id: tenantId! } })),
    onSuccess: () => {
      form.resetFields();
      draft.clear();
      setError(undefined);
      void message.success(t("alliances.created"));
      void qc.invalidateQueries({ queryKey: ["alliances"] });
    },
    onError: (e) => {
      showFieldErrors(form, e);
      setError(e.message);
    },
  });
  return (
    <Card title={<h2 style={{ fontSize: 16, margin: 0 }}>{t("alliances.found")}</h2>}>
      <Form<Found>
        form={form}
        layout="vertical"
        disabled={!allowed}
        onFinish={(v) => found.mutate(v)}
        onValuesChange={draft.onValuesChange}
        initialValues={{
          policy: { threshold_percentage: 50, comparator: "greater_than", proposal_duration_hours: 72 },
        }}
      >
        <Form.Item name="name" label={t("common.name")} rules={[{ required: true, max: 100 }]}>
          <Input />
        </Form.Item>
        <Form.Item name="description" label={t("alliances.description")} rules={[{ max: 2000 }]}>
          <Input.TextArea rows={2} />
        </Form.Item>
        <Form.Item name={["org", "name"]} label={t("alliances.org")} rules={[{ required: true, max: 100 }]}>
          <Input />
        </Form.Item>
        <Form.Item
          name={["org", "org_id"]}
          label={t("alliances.mspId")}
          rules={[{ required: true, pattern: /^[A-Za-z][A-Za-z0-9.-]{0,63}$/ }]}
        >
          <Input />
        </Form.Item>
        <Form.Item name={["policy", "threshold_percentage"]} label={t("alliances.threshold")} rules={[{ required: true }]}>
          <InputNumber min={1} max={100} />
        </Form.Item>
        <Form.Item name={["policy", "comparator"]} label={t("alliances.comparator")}>
          <Select
            options={[
              { value: "greater_than", label: ">" },
              { value: "greater_than_or_equal", label: "≥" },
            ]}
          />
        </Form.Item>
        <Form.Item name={["policy", "proposal_duration_hours"]} label={t("alliances.duration")} rules={[{ required: true }]}>
          <InputNumber min={1} max={168} />
        </Form.Item>
        {error && (
          <Typography.Paragraph type="danger" role="alert">
            {error}
          </Typography.Paragraph>
        )}
        <Tooltip title={allowed ? undefined : t("alliances.needAdmin")}>
          <Button type="primary" htmlType="submit" loading={found.isPending} disabled={!allowed}>
            {t("alliances.create")}
          </Button>
        </Tooltip>
        {!allowed && <Typography.Paragraph type="secondary">{t("alliances.needAdmin")}</Typography.Paragraph>}
      </Form>
    </Card>
  );
}

type Org = components["schemas"]["MemberOrg"];

function Answer({ invitation }: { invitation: Invitation }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const qc = useQueryClient();
  const [form] = Form.useForm<Org>();
  const admin = useIsAdmin();
  const done = (what: string) => {
    void message.success(what);
    void qc.invalidateQueries({ queryKey: ["invitations"] });
    void qc.invalidateQueries({ queryKey: ["alliances"] });
  };
  const accept = useMutation({
    mutationFn: async (org: Org) =>
      unwrap(
        await api.POST("/api/v1/invitations/{invitation_id}/accept", {
          params: { path: { invitation_id: invitation.id } },
          body: { org },
        }),
      ),
    onSuccess: () => done(t("invitations.accepted", { alliance: invitation.alliance_name })),
    onError: (e) => {
      showFieldErrors(form, e);
      void message.error(e.message);
    },
  });
  const reject = useMutation({
    mutationFn: async () =>
      unwrap(await api.POST("/api/v1/invitations/{invitation_id}/reject", { params: { path: { invitation_id: invitation.id } } })),
    onSuccess: () => done(t("invitations.rejected")),
    onError: (e) => void message.error(e.message),
  });
  return (
    <Form<Org> form={form} layout="inline" disabled={!admin} onFinish={(org) => accept.mutate(org)}>
      <Form.Item name="name" label={t("alliances.org")} rules={[{ required: true, max: 100 }]}>
        <Input />
      </Form.Item>
      <Form.Item name="org_id" label={t("alliances.mspId")} rules={[{ required: true, pattern: /^[A-Za-z][A-Za-z0-9.-]{0,63}$/ }]}>
        <Input />
      </Form.Item>
      <Space>
        <Button type="primary" htmlType="submit" loading={accept.isPending}>
          {t("invitations.accept")}
        </Button>
        <Button danger loading={reject.isPending} onClick={() => reject.mutate()}>
          {t("invitations.reject")}
        </Button>
      </Space>
    </Form>
  );
}

function Inbox() {
  const { t } = useI18n();
  const invitations = usePendingInvitations();
  if (invitations.isPending) return <Loading />;
  if (invitations.error) return <Failed error={invitations.error} retry={() => void invitations.refetch()} />;
  if (invitations.data.length === 0) return <Nothing text={t("overview.noInvitations")} />;
  return (
    <List
      dataSource={invitations.data}
      renderItem={(i) => (
        <List.Item>
          <Space direction="vertical" style={{ width: "100%" }}>
            <Typography.Text strong>{i.alliance_name}</Typography.Text>
            <Typography.Text type="secondary">{`${t("invitations.expires")}: ${new Date(i.expires_at).toLocaleString()}`}</Typography.Text>
            <Answer invitation={i} />
          </Space>
        </List.Item>
      )}
    />
  );
}

export default function Alliances() {
  const { t } = useI18n();
  const { tenantId } = useSession();
  const alliances = useAlliances();
  return (
    <>
      <Typography.Title level={1} style={{ fontSize: 24 }}>
        {t("alliances.title")}
      </Typography.Title>
      {alliances.isPending ? (
        <Loading />
      ) : alliances.error ? (
        <Failed error={alliances.error} retry={() => void alliances.refetch()} />
      ) : alliances.data.length === 0 ? (
        <Nothing text={t("alliances.none")} />
      ) : (
        <Table
          rowKey="id"
          dataSource={alliances.data}
          pagination={false}
          columns={[
            { title: t("common.name"), render: (_, a) => <Link to={`/alliances/${a.id}`}>{a.name}</Link> },
            { title: t("common.status"), render: (_, a) => <Tag>{a.status}</Tag> },
            { title: t("alliances.members"), render: (_, a) => a.members.length },
            { title: t("common.created"), render: (_, a) => new Date(a.created_at).toLocaleString() },
          ]}
        />
      )}
      <Typography.Paragraph type="secondary" style={{ marginTop: 8 }}>
        {t("alliances.yourTenant")} <Typography.Text code copyable>{tenantId}</Typography.Text>
      </Typography.Paragraph>
      <Card title={<h2 style={{ fontSize: 16, margin: 0 }}>{t("overview.invitations")}</h2>} style={{ marginTop: 24 }}>
        <Inbox />
      </Card>
      <div style={{ marginTop: 24, maxWidth: 640 }}>
        <FoundAlliance />
      </div>
    </>
  );
}
