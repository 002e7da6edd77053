import { Button, Layout, Typography } from "antd";
import { Suspense, type ReactNode } from "react";
import { useI18n } from "../i18n";
import { ErrorBoundary, Loading } from "./States";

/** A page open without signing in (the receipt verifier). */
export default function PublicPage({ children }: { children: ReactNode }) {
  const { t, lang, setLang } = useI18n();
  return (
    <Layout style={{ minHeight: "100vh" }}>
      <Layout.Header style={{ display: "flex", alignItems: "center", justifyContent: "space-between" }}>
        <Typography.Text strong style={{ color: "#fff", fontSize: 18 }}>
          {t("app.name")}
        </Typography.Text>
        <Button onClick={() => setLang(lang === "en" ? "zh-CN" : "en")}>{t("nav.language")}</Button>
      </Layout.Header>
      <Layout.Content style={{ padding: 24 }}>
        <main>
          <ErrorBoundary>
            <Suspense fallback={<Loading />}>{children}</Suspense>
          </ErrorBoundary>
        </main>
      </Layout.Content>
    </Layout>
  );
}
