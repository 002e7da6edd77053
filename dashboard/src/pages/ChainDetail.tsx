// One chain: its phase and height live (every 2 s until it runs), nodes, endpoints, genesis
// download, installations, and deletion with typed-name confirmation.

import { App, Button, Card, Checkbox, Descriptions, Input, Modal, Space, Table, Tooltip, Typography } from "antd";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { api, unwrap } from "../api/client";
import type { components } from "../api/schema";
import { useIsAdmin, useSession } from "../auth/session";
import { useI18n } from "../i18n";
import { Failed, Loading } from "../layout/States";
import { StatusTag } from "../layout/StatusTag";
import { phaseTone } from "./ChainTable";
import { LIVE_MS, useLiveConnected } from "../api/live";
import { downloadJson } from "./evidence";

type Chain = components["schemas"]["ChainView"];

function DeleteChain({ chain }: { chain: Chain }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const { tenantId } = useSession();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState("");
  const [keep, setKeep] = useState(false);
  const creator = chain.created_by_tenant_id === tenantId;
  const admin = useIsAdmin();
  const why = !admin ? t("chain.deleteNeedsAdmin") : !creator ? t("chain.deleteNeedsCreator") : undefined;
  const remove = useMutation({
    mutationFn: async () => {
      const res = await api.DELETE("/api/v1/alliances/{alliance_id}/chains/{chain_id}", {
        params: { path: { alliance_id: chain.alliance_id, chain_id: chain.id }, query: { tenant_id: tenantId!, keep_data: keep } },
      });
      return unwrap(res);
    },
    onSuccess: () => {
      void message.success(t("chain.deleted", { name: chain.name }));
      void qc.invalidateQueries({ queryKey: ["chains", chain.alliance_id] });
      navigate("/chains");
    },
  });
  return (
    <>
      <Tooltip title={why}>
        <Button danger disabled={!!why} onClick={() => setOpen(true)}>
          {t("chain.delete")}
        </Button>
      </Tooltip>
      {why && <Typography.Text type="secondary"> {why}</Typography.Text>}
      <Modal
        open={open}
        title={t("chain.deleteTitle", { name: chain.name })}
        okText={t("chain.delete")}
        okButtonProps={{ danger: true, disabled: typed !== chain.name, loading: remove.isPending }}
        cancelText={t("common.cancel")}
        onOk={() => remove.mutate()}
        onCancel={() => setOpen(false)}
      >
        <Typography.Paragraph>{t("chain.deleteText")}</Typography.Paragraph>
        <Input aria-label={t("chain.typeName", { name: chain.name })} placeholder={chain.name} value={typed} onChange={(e) => setTyped(e.target.value)} />
        <Typography.Paragraph type="secondary">{t("chain.typeName", { name: chain.name })}</Typography.Paragraph>
        <Checkbox checked={keep} onChange={(e) => setKeep(e.target.checked)}>
          {t("chain.keepData")}
        </Checkbox>
        {remove.error && <Failed error={remove.error} />}
      </Modal>
    </>
  );
}

export default function ChainDetail() {
  const { t } = useI18n();
  const { allianceId = "", chainId = "" } = useParams();
  const live = useLiveConnected();
  const chain = useQuery({
    queryKey: ["chain", chainId],
    // The live feed says when the phase or height moves; without it, poll (faster while
    // the chain is coming up).
    refetchInterval: live ? false : (q) => (q.state.data?.phase === "running" ? 5 * LIVE_MS : 2_000),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/alliances/{alliance_id}/chains/{chain_id}", { params: { path: { alliance_id: allianceId, chain_id: chainId } } })),
  });
  const genesis = useMutation({
    mutationFn: async () =>
      unwrap(await api.GET("/api/v1/alliances/{alliance_id}/chains/{chain_id}/genesis", { params: { path: { alliance_id: allianceId, chain_id: chainId } } })),
    onSuccess: (g) => downloadJson(`${chain.data?.name ?? "chain"}.genesis.json`, g),
  });
  if (chain.isPending) return <Loading />;
  if (chain.error) return <Failed error={chain.error} retry={() => void chain.refetch()} />;
  const c = chain.data;
  const h2 = (s: string) => <h2 style={{ fontSize: 16, margin: 0 }}>{s}</h2>;
  return (
    <>
      <Typography.Paragraph>
        <Link to="/chains">← {t("chains.title")}</Link>
      </Typography.Paragraph>
      <Typography.Title level={1} style={{ fontSize: 24 }}>
        {c.name}{" "}
        <StatusTag tone={phaseTone[c.phase] ?? "none"} testId="chain-phase">
          {c.phase}
        </StatusTag>
      </Typography.Title>
      {c.message && <Typography.Paragraph type="secondary">{c.message}</Typography.Paragraph>}
      <Card title={h2(t("chain.summary"))}>
        <Descriptions column={{ xs: 1, md: 2 }} size="small">
          <Descriptions.Item label={t("chains.engine")}>{`${c.engine} / ${c.consensus}${c.version ? ` ${c.version}` : ""}`}</Descriptions.Item>
          <Descriptions.Item label={t("chains.height")}>
            <span data-testid="chain-height">{c.height ?? "—"}</span>
          </Descriptions.Item>
          <Descriptions.Item label={t("chain.chainId")}>{c.chain_id}</Descriptions.Item>
          <Descriptions.Item label={t("chain.runtime")}>{c.runtime}</Descriptions.Item>
          <Descriptions.Item label={t("verifier.genesisHash")}>
            <Typography.Text code copyable>
              {c.genesis_hash}
            </Typography.Text>
          </Descriptions.Item>
          <Descriptions.Item label={t("chains.nodesPerMember")}>{c.nodes_per_member}</Descriptions.Item>
        </Descriptions>
        <Space style={{ marginTop: 16 }}>
          <Button onClick={() => genesis.mutate()} loading={genesis.isPending}>
            {t("chain.downloadGenesis")}
          </Button>
          <DeleteChain chain={c} />
        </Space>
        {genesis.error && <Failed error={genesis.error} />}
      </Card>
      <Card title={h2(t("chains.nodes"))} style={{ marginTop: 16 }}>
        <Table
          rowKey="name"
          size="small"
          pagination={false}
          scroll={{ x: "max-content" }}
          dataSource={c.nodes}
          columns={[
            { title: t("common.name"), dataIndex: "name" },
            { title: t("chain.member"), dataIndex: "member" },
            { title: t("chain.role"), dataIndex: "role" },
            { title: t("chain.state"), render: (_, n) => <StatusTag tone={n.state === "running" ? "good" : "busy"}>{n.state}</StatusTag> },
            { title: t("chains.height"), render: (_, n) => n.height ?? "—" },
            { title: t("chain.restarts"), dataIndex: "restarts" },
            { title: t("chain.endpoint"), render: (_, n) => n.endpoint ?? "—" },
          ]}
        />
      </Card>
      {c.installations.length > 0 && (
        <Card title={h2(t("chain.installations"))} style={{ marginTop: 16 }}>
          <Table
            rowKey="id"
            size="small"
            pagination={false}
            dataSource={c.installations}
            columns={[
              { title: t("chain.installedTemplate"), render: (_, i) => `${i.slug} ${i.version}` },
              { title: t("common.status"), render: (_, i) => <StatusTag tone={i.status === "installed" ? "good" : "busy"}>{i.status}</StatusTag> },
              { title: t("chain.message"), render: (_, i) => i.message ?? "" },
            ]}
          />
        </Card>
      )}
    </>
  );
}
