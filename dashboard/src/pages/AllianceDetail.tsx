// One alliance: its members and policy, proposals with live tallies and vote buttons, a form
// for new proposals, and the event feed.

import { App, Button, Card, Col, Descriptions, Form, Input, InputNumber, List, Progress, Row, Select, Space, Table, Tag, Tooltip, Typography } from "antd";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useParams } from "react-router";
import { api, unwrap } from "../api/client";
import { showFieldErrors } from "../api/problem";
import type { components } from "../api/schema";
import { useIsAdmin, useSession } from "../auth/session";
import { useI18n } from "../i18n";
import { Failed, Loading, Nothing } from "../layout/States";
import { StatusTag } from "../layout/StatusTag";
import { usePoll } from "../api/live";
import { useDraft } from "../forms/draft";

type Proposal = components["schemas"]["ProposalView"];
type Alliance = components["schemas"]["AllianceView"];
type Kind = "invite_member" | "remove_member" | "change_policy" | "create_chain";


function useAllianceData(id: string) {
  const poll = usePoll();
  const alliance = useQuery({
    queryKey: ["alliance", id],
    refetchInterval: poll,
    queryFn: async () => unwrap(await api.GET("/api/v1/alliances/{alliance_id}", { params: { path: { alliance_id: id } } })),
  });
  const proposals = useQuery({
    queryKey: ["proposals", id],
    refetchInterval: poll,
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/alliances/{alliance_id}/proposals", { params: { path: { alliance_id: id }, query: { limit: 200 } } })).items,
  });
  const events = useQuery({
    queryKey: ["events", id],
    refetchInterval: poll,
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/alliances/{alliance_id}/events", { params: { path: { alliance_id: id }, query: { limit: 200 } } })).items,
  });
  return { alliance, proposals, events };
}

function Tally({ p }: { p: Proposal }) {
  const { t } = useI18n();
  const voters = p.eligible_tenant_ids.length;
  const pct = voters ? Math.round((100 * p.yes) / voters) : 0;
  return (
    <Space direction="vertical" size={0} style={{ minWidth: 180 }}>
      <Progress percent={pct} success={{ percent: pct }} size="small" aria-label={t("alliance.tally")} />
      <Typography.Text type="secondary" data-testid="tally">
        {t("alliance.tallyText", { yes: p.yes, no: p.no, voters, threshold: p.threshold_percentage })}
      </Typography.Text>
    </Space>
  );
}

function Proposals({ alliance, proposals }: { alliance: Alliance; proposals: Proposal[] }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const { tenantId } = useSession();
  const qc = useQueryClient();
  const vote = useMutation({
    mutationFn: async ({ p, choice }: { p: Proposal; choice: "yes" | "no" }) =>
      unwrap(
        await api.POST("/api/v1/alliances/{alliance_id}/proposals/{proposal_id}/votes", {
          params: { path: { alliance_id: alliance.id, proposal_id: p.id } },
          body: { tenant_id: tenantId!, vote: choice },
        }),
      ),
    onSuccess: (p) => {
      void message.success(t("alliance.voted", { status: p.status }));
      void qc.invalidateQueries({ queryKey: ["proposals", alliance.id] });
      void qc.invalidateQueries({ queryKey: ["alliance", alliance.id] });
      void qc.invalidateQueries({ queryKey: ["events", alliance.id] });
    },
    onError: (e) => void message.error(e.message),
  });
  const admin = useIsAdmin();
  if (proposals.length === 0) return <Nothing text={t("alliance.noProposals")} />;
  return (
    <Table
      rowKey="id"
      pagination={false}
      scroll={{ x: "max-content" }}
      dataSource={proposals}
      columns={[
        { title: t("alliance.kind"), render: (_, p) => <Tag>{p.kind}</Tag> },
        { title: t("alliances.description"), render: (_, p) => p.description || JSON.stringify(p.action) },
        {
          title: t("common.status"),
          render: (_, p) => <StatusTag tone={p.status === "approved" ? "good" : p.status === "open" ? "busy" : "none"}>{p.status}</StatusTag>,
        },
        { title: t("alliance.tally"), render: (_, p) => <Tally p={p} /> },
        {
          title: t("alliance.vote"),
          render: (_, p) => {
            if (p.status !== "open") return null;
            const eligible = tenantId !== undefined && p.eligible_tenant_ids.includes(tenantId);
            const voted = p.votes.some((v) => v.tenant_id === tenantId);
            const why = !admin ? t("alliance.voteNeedsAdmin") : !eligible ? t("alliance.notEligible") : voted ? t("alliance.alreadyVoted") : undefined;
            return (
              <Tooltip title={why}>
                <Space>
                  <Button size="small" type="primary" disabled={!!why} loading={vote.isPending} onClick={() => vote.mutate({ p, choice: "yes" })}>
                    {t("alliance.yes")}
                  </Button>
                  <Button size="small" danger disabled={!!why} onClick={() => vote.mutate({ p, choice: "no" })}>
                    {t("alliance.no")}
                  </Button>
                </Space>
              </Tooltip>
            );
          },
        },
      ]}
    />
  );
}

type ProposalForm = {
  kind: Kind;
  description?: string;
  tenant_id?: string;
  member?: string;
  policy?: components["schemas"]["Policy"];
  chain?: { name: string; engine: string; nodes_per_member: number };
};

/** Where an error inside a proposal's action (`/action/<kind>/…`) goes on the form, whose
 * fields are flat per kind. */
export function proposalField(path: (string | number)[]): (string | number)[] {
  if (path[0] !== "action" || path.length < 2) return path;
  const [, kind, ...rest] = path;
  if (kind === "invite_member") return ["tenant_id"];
  if (kind === "remove_member") return ["member"];
  if (kind === "change_policy") return rest[0] === "policy" && rest.length > 1 ? ["policy", ...rest.slice(1)] : ["policy", "threshold_percentage"];
  if (kind === "create_chain") return rest.length > 0 ? ["chain", ...rest] : ["chain", "name"];
  return path;
}

function NewProposal({ alliance }: { alliance: Alliance }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const { tenantId } = useSession();
  const qc = useQueryClient();
  const [form] = Form.useForm<ProposalForm>();
  const draft = useDraft(form, `alliance/${alliance.id}/propose`);
  const kind = Form.useWatch("kind", form);
  const [error, setError] = useState<string>();
  const admin = useIsAdmin();
  const propose = useMutation({
    mutationFn: async (v: ProposalForm) => {
      const action: components["schemas"]["ProposalAction"] =
        v.kind === "invite_member"
          ? { invite_member: { tenant_id: v.tenant_id!.trim() } }
          : v.kind === "remove_member"
            ? { remove_member: { tenant_id: v.member! } }
            : v.kind === "change_policy"
              ? { change_policy: { policy: v.policy! } }
              : { create_chain: { name: v.chain!.name, engine: v.chain!.engine, nodes_per_member: v.chain!.nodes_per_member } };
      return unwrap(
        await api.POST("/api/v1/alliances/{alliance_id}/proposals", {
          params: { path: { alliance_id: alliance.id } },
          body: { tenant_id: tenantId!, action, description: v.description ?? "" },
        }),
      );
    },
    onSuccess: () => {
      setError(undefined);
      form.resetFields();
      draft.clear();
      void message.success(t("alliance.proposed"));
      void qc.invalidateQueries({ queryKey: ["proposals", alliance.id] });
    },
    onError: (e) => {
      // Errors inside the action (`/action/invite_member/tenant_id`, …) land on the field
      // that holds that value; the message stays under the form too.
      showFieldErrors(form, e, undefined, proposalField);
      setError(e.message);
    },
  });
  return (
    <Form<ProposalForm>
      form={form}
      layout="vertical"
      disabled={!admin || alliance.status !== "active"}
      initialValues={{
        kind: "invite_member",
        policy: alliance.policy,
        chain: { name: "", engine: "native", nodes_per_member: 1 },
      }}
      onFinish={(v) => propose.mutate(v)}
      onValuesChange={draft.onValuesChange}
    >
      <Form.Item name="kind" label={t("alliance.kind")}>
        <Select
          options={(["invite_member", "remove_member", "change_policy", "create_chain"] as Kind[]).map((k) => ({ value: k, label: t(`alliance.kind.${k}`) }))}
        />
      </Form.Item>
      {kind === "invite_member" && (
        <Form.Item
          name="tenant_id"
          label={t("alliance.inviteTenant")}
          extra={t("alliance.inviteHint")}
          rules={[{ required: true, pattern: /^\s*[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\s*$/i, message: t("alliance.tenantIdShape") }]}
        >
          <Input />
        </Form.Item>
      )}
      {kind === "remove_member" && (
        <Form.Item name="member" label={t("alliances.members")} rules={[{ required: true }]}>
          <Select options={alliance.members.map((m) => ({ value: m.tenant_id, label: `${m.org_name} (${m.org_id})` }))} />
        </Form.Item>
      )}
      {kind === "change_policy" && (
        <Space wrap>
          <Form.Item name={["policy", "threshold_percentage"]} label={t("alliances.threshold")} rules={[{ required: true }]}>
            <InputNumber min={1} max={100} />
          </Form.Item>
          <Form.Item name={["policy", "comparator"]} label={t("alliances.comparator")}>
            <Select style={{ width: 120 }} options={[{ value: "greater_than", label: ">" }, { value: "greater_than_or_equal", label: "≥" }]} />
          </Form.Item>
          <Form.Item name={["policy", "proposal_duration_hours"]} label={t("alliances.duration")} rules={[{ required: true }]}>
            <InputNumber min={1} max={168} />
          </Form.Item>
        </Space>
      )}
      {kind === "create_chain" && (
        <Space wrap>
          <Form.Item name={["chain", "name"]} label={t("common.name")} rules={[{ required: true, pattern: /^[A-Za-z0-9 ._-]{1,64}$/ }]}>
            <Input />
          </Form.Item>
          <Form.Item name={["chain", "engine"]} label={t("chains.engine")}>
            <Select style={{ width: 140 }} options={[{ value: "native", label: "native" }]} />
          </Form.Item>
          <Form.Item name={["chain", "nodes_per_member"]} label={t("chains.nodesPerMember")}>
            <InputNumber min={1} max={16} />
          </Form.Item>
        </Space>
      )}
      <Form.Item name="description" label={t("alliances.description")} rules={[{ max: 2000 }]}>
        <Input.TextArea rows={2} />
      </Form.Item>
      {error && (
        <Typography.Paragraph type="danger" role="alert">
          {error}
        </Typography.Paragraph>
      )}
      <Tooltip title={admin ? undefined : t("alliance.proposeNeedsAdmin")}>
        <Button type="primary" htmlType="submit" loading={propose.isPending} disabled={!admin}>
          {t("alliance.propose")}
        </Button>
      </Tooltip>
    </Form>
  );
}

export default function AllianceDetail() {
  const { t } = useI18n();
  const { allianceId = "" } = useParams();
  const { alliance, proposals, events } = useAllianceData(allianceId);
  if (alliance.isPending) return <Loading />;
  if (alliance.error) return <Failed error={alliance.error} retry={() => void alliance.refetch()} />;
  const a = alliance.data;
  const h2 = (s: string) => <h2 style={{ fontSize: 16, margin: 0 }}>{s}</h2>;
  return (
    <>
      <Typography.Paragraph>
        <Link to="/alliances">← {t("alliances.title")}</Link>
      </Typography.Paragraph>
      <Typography.Title level={1} style={{ fontSize: 24 }}>
        {a.name} <Tag>{a.status}</Tag>
      </Typography.Title>
      {a.description && <Typography.Paragraph>{a.description}</Typography.Paragraph>}
      <Row gutter={[16, 16]}>
        <Col xs={24} xxl={16}>
          <Card title={h2(t("alliance.proposals"))}>
            {proposals.isPending ? <Loading /> : proposals.error ? <Failed error={proposals.error} retry={() => void proposals.refetch()} /> : <Proposals alliance={a} proposals={proposals.data} />}
          </Card>
          <Card title={h2(t("alliance.newProposal"))} style={{ marginTop: 16 }}>
            <NewProposal alliance={a} />
          </Card>
        </Col>
        <Col xs={24} xxl={8}>
          <Card title={h2(t("alliances.members"))}>
            <List
              dataSource={a.members}
              renderItem={(m) => (
                <List.Item>
                  <List.Item.Meta title={m.org_name} description={`${m.org_id} · ${m.tenant_id}`} />
                </List.Item>
              )}
            />
            <Descriptions size="small" column={1} style={{ marginTop: 8 }}>
              <Descriptions.Item label={t("alliances.threshold")}>
                {`${a.policy.comparator === "greater_than" ? ">" : "≥"} ${a.policy.threshold_percentage}%`}
              </Descriptions.Item>
              <Descriptions.Item label={t("alliances.duration")}>{a.policy.proposal_duration_hours}</Descriptions.Item>
            </Descriptions>
          </Card>
          <Card title={h2(t("alliance.events"))} style={{ marginTop: 16 }}>
            {events.isPending ? (
              <Loading />
            ) : events.error ? (
              <Failed error={events.error} retry={() => void events.refetch()} />
            ) : (
              <List
                size="small"
                dataSource={[...events.data].reverse()}
                renderItem={(e) => (
                  <List.Item>
                    <Typography.Text>
                      <Tag>{e.kind}</Tag>
                      {new Date(e.created_at).toLocaleString()}
                    </Typography.Text>
                  </List.Item>
                )}
              />
            )}
          </Card>
        </Col>
      </Row>
    </>
  );
}
