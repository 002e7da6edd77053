import { Typography } from "antd";
import { useI18n } from "../i18n";
import { ChainList } from "./ChainTable";
import NewChain from "./NewChain";

export default function Chains() {
  const { t } = useI18n();
  return (
    <>
      <Typography.Title level={1} style={{ fontSize: 24 }}>
        {t("chains.title")}
      </Typography.Title>
      <ChainList />
      <div style={{ marginTop: 24, maxWidth: 640 }}>
        <NewChain />
      </div>
    </>
  );
}
