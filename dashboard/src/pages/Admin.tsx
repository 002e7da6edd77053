// Tenant administration: members and roles, invitation links, API and service-account
// tokens, browser sessions, and the audit log. The tab is in the address (?tab=…).

import { Tabs, Typography } from "antd";
import { useSearchParams } from "react-router";
import { useSession } from "../auth/session";
import { useI18n } from "../i18n";
import { Access } from "./admin/Access";
import { Audit } from "./admin/Audit";
import { Members } from "./admin/Members";

const TABS = ["members", "access", "audit"] as const;

export default function Admin() {
  const { t } = useI18n();
  const { tenants, tenantId } = useSession();
  const [params, setParams] = useSearchParams();
  const tab = TABS.find((k) => k === params.get("tab")) ?? "members";
  const tenant = tenants.find((m) => m.tenant.id === tenantId)?.tenant;
  return (
    <>
      <Typography.Title level={1} style={{ fontSize: 24 }}>
        {t("admin.title", { tenant: tenant?.name ?? "" })}
      </Typography.Title>
      <Tabs
        activeKey={tab}
        onChange={(k) => setParams({ tab: k })}
        items={[
          { key: "members", label: t("admin.members"), children: <Members /> },
          { key: "access", label: t("admin.accessTab"), children: <Access /> },
          { key: "audit", label: t("admin.audit"), children: <Audit /> },
        ]}
      />
    </>
  );
}
