import { Typography } from "antd";
import { useI18n } from "../i18n";
import { Failed, Loading, Nothing } from "../layout/States";
import { ChainTable } from "./ChainTable";
import NewChain from "./NewChain";
import { useChains } from "./data";

export default function Chains() {
  const { t } = useI18n();
  const chains = useChains();
  return (
    <>
      <Typography.Title level={1} style={{ fontSize: 24 }}>
        {t("chains.title")}
      </Typography.Title>
      {chains.isPending ? (
        <Loading />
      ) : chains.error ? (
        <Failed error={chains.error} retry={chains.refetch} />
      ) : chains.data.length === 0 ? (
        <Nothing text={t("overview.noChains")} />
      ) : (
        <ChainTable rows={chains.data} />
      )}
      <div style={{ marginTop: 24, maxWidth: 640 }}>
        <NewChain />
      </div>
    </>
  );
}
