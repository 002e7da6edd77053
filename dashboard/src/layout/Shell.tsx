import { Badge, Button, Layout, Menu, Select, Space, Typography } from "antd";
import { useLiveConnected, useLiveFeed } from "../api/live";
import { Suspense } from "react";
import { Link, Outlet, useLocation } from "react-router";
import { useSession } from "../auth/session";
import { useI18n } from "../i18n";
import { ErrorBoundary, Loading } from "./States";

export default function Shell() {
  const { t, lang, setLang } = useI18n();
  const { me, tenants, tenantId, setTenantId, signOut } = useSession();
  const location = useLocation();
  useLiveFeed(tenantId);
  const live = useLiveConnected();
  // A chain's page lives under its alliance's path but belongs to "Chains".
  const section = location.pathname.includes("/chains/") ? "/chains" : "/" + (location.pathname.split("/")[1] ?? "");
  const items = [
    { key: "/", label: <Link to="/">{t("nav.overview")}</Link> },
    { key: "/alliances", label: <Link to="/alliances">{t("nav.alliances")}</Link> },
    { key: "/chains", label: <Link to="/chains">{t("nav.chains")}</Link> },
    { key: "/evidence", label: <Link to="/evidence">{t("nav.evidence")}</Link> },
    { key: "/certificates", label: <Link to="/certificates">{t("nav.certificates")}</Link> },
    { key: "/marketplace", label: <Link to="/marketplace">{t("nav.marketplace")}</Link> },
    { key: "/verify", label: <Link to="/verify">{t("nav.verifier")}</Link> },
    { key: "/admin", label: <Link to="/admin">{t("nav.admin")}</Link> },
  ];
  return (
    <Layout style={{ minHeight: "100vh" }}>
      <Layout.Header style={{ display: "flex", alignItems: "center", gap: 16, flexWrap: "wrap", height: "auto", minHeight: 64 }}>
        <Typography.Text strong style={{ color: "#fff", fontSize: 18 }}>
          {t("app.name")}
        </Typography.Text>
        <nav aria-label="main" style={{ flex: 1 }}>
          {/* No overflow menu: its hidden copies of the items stay focusable (axe: aria-hidden-focus). */}
          <Menu theme="dark" mode="horizontal" selectedKeys={[section]} items={items} disabledOverflow />
        </nav>
        <Space>
          <span data-live={live ? "on" : "off"} title={live ? t("live.onHelp") : t("live.offHelp")}>
            <Badge status={live ? "success" : "warning"} text={<span style={{ color: "#fff" }}>{live ? t("live.on") : t("live.off")}</span>} />
          </span>
          <Select
            aria-label={t("nav.tenant")}
            style={{ minWidth: 180 }}
            value={tenantId}
            placeholder={t("nav.noTenant")}
            onChange={setTenantId}
            options={tenants.map((m) => ({ value: m.tenant.id, label: m.tenant.name }))}
          />
          <Typography.Text style={{ color: "#fff" }}>{me?.user.display_name}</Typography.Text>
          <Button onClick={() => setLang(lang === "en" ? "zh-CN" : "en")}>{t("nav.language")}</Button>
          <Button onClick={() => void signOut()}>{t("nav.signOut")}</Button>
        </Space>
      </Layout.Header>
      <Layout.Content style={{ padding: 24 }}>
        <main>
          <ErrorBoundary key={location.pathname}>
            <Suspense fallback={<Loading />}>
              <Outlet />
            </Suspense>
          </ErrorBoundary>
        </main>
      </Layout.Content>
    </Layout>
  );
}
