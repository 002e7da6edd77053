import { Table } from "antd";
import { Link } from "react-router";
import { StatusTag, type Tone } from "../layout/StatusTag";
import { useI18n } from "../i18n";
import { Failed, Loading, Nothing } from "../layout/States";
import { useChains, type Alliance, type Chain } from "./data";

/** The API's phase words (snake case of the operator's `Running`, …). */
export const phaseTone: Record<string, Tone> = {
  running: "good",
  provisioning: "busy",
  pending: "busy",
  degraded: "warn",
  failed: "bad",
  stopped: "none",
};

export function ChainTable({ rows }: { rows: { chain: Chain; alliance: Alliance }[] }) {
  const { t } = useI18n();
  return (
    <Table
      rowKey={(r) => r.chain.id}
      dataSource={rows}
      pagination={false}
      columns={[
        { title: t("common.name"), render: (_, r) => <Link to={`/alliances/${r.alliance.id}/chains/${r.chain.id}`}>{r.chain.name}</Link> },
        { title: t("chains.alliance"), render: (_, r) => r.alliance.name },
        { title: t("chains.engine"), render: (_, r) => `${r.chain.engine} / ${r.chain.consensus}` },
        {
          title: t("chains.phase"),
          render: (_, r) => (
            <StatusTag tone={phaseTone[r.chain.phase] ?? "none"} testId="chain-phase">
              {r.chain.phase}
            </StatusTag>
          ),
        },
        { title: t("chains.height"), render: (_, r) => r.chain.height ?? "—" },
        { title: t("chains.nodes"), render: (_, r) => r.chain.nodes.length },
      ]}
    />
  );
}

/** The chains of every alliance of the current tenant, with their loading, error and empty states. */
export function ChainList() {
  const { t } = useI18n();
  const chains = useChains();
  if (chains.isPending) return <Loading />;
  if (chains.error) return <Failed error={chains.error} retry={chains.refetch} />;
  if (chains.data.length === 0) return <Nothing text={t("overview.noChains")} />;
  return <ChainTable rows={chains.data} />;
}
