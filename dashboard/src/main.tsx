import { App as AntApp, ConfigProvider } from "antd";
import type { Locale } from "antd/es/locale";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { lazy, StrictMode, Suspense, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter, Route, Routes, useLocation } from "react-router";
import { ApiError } from "./api/problem";
import { SessionProvider, useSession } from "./auth/session";
import { I18nProvider, useI18n } from "./i18n";
import { ErrorBoundary } from "./layout/States";

// Everything but the frame loads on demand: sign-in, the shell and each page are chunks of
// their own, so the first paint needs little JavaScript.
const SignIn = lazy(() => import("./auth/SignIn"));
const Shell = lazy(() => import("./layout/Shell"));
const PublicPage = lazy(() => import("./layout/PublicPage"));
const Overview = lazy(() => import("./pages/Overview"));
const Alliances = lazy(() => import("./pages/Alliances"));
const Chains = lazy(() => import("./pages/Chains"));
const Verifier = lazy(() => import("./pages/Verifier"));
const Evidence = lazy(() => import("./pages/Evidence"));
const AllianceDetail = lazy(() => import("./pages/AllianceDetail"));
const ChainDetail = lazy(() => import("./pages/ChainDetail"));
const Certificates = lazy(() => import("./pages/Certificates"));
const Marketplace = lazy(() => import("./pages/Marketplace"));
const Admin = lazy(() => import("./pages/Admin"));
const TemplatePage = lazy(() => import("./pages/TemplatePage"));

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // Retry network failures with back-off; a problem document is an answer, not a failure.
      retry: (count, error) => !(error instanceof ApiError) && count < 3,
      refetchOnWindowFocus: true,
    },
  },
});

function Routed() {
  const { me } = useSession();
  const location = useLocation();
  // The receipt verifier needs no account: it is open signed out too.
  if (!me && location.pathname === "/verify") return <PublicPage><Verifier /></PublicPage>;
  if (!me) return <SignIn />;
  return (
    <Routes>
      <Route element={<Shell />}>
        <Route path="verify" element={<Verifier />} />
        <Route index element={<Overview />} />
        <Route path="alliances" element={<Alliances />} />
        <Route path="alliances/:allianceId" element={<AllianceDetail />} />
        <Route path="alliances/:allianceId/chains/:chainId" element={<ChainDetail />} />
        <Route path="chains" element={<Chains />} />
        <Route path="evidence" element={<Evidence />} />
        <Route path="certificates" element={<Certificates />} />
        <Route path="marketplace" element={<Marketplace />} />
        <Route path="marketplace/:slug" element={<TemplatePage />} />
        <Route path="admin" element={<Admin />} />
        <Route path="*" element={<Overview />} />
      </Route>
    </Routes>
  );
}

/** Ant Design's defaults, darkened where their contrast is below WCAG AA (4.5:1). */
const theme = {
  token: {
    colorPrimary: "#0958d9",
    colorLink: "#0958d9",
    colorError: "#cf1322",
    // antd derives lighter hover colours; white text on them falls below 4.5:1.
    colorPrimaryHover: "#003eb3",
    colorPrimaryActive: "#002c8c",
    colorLinkHover: "#003eb3",
    colorErrorHover: "#a8071a",
    colorTextDescription: "rgba(0, 0, 0, 0.65)",
    colorTextTertiary: "rgba(0, 0, 0, 0.65)",
    colorTextPlaceholder: "rgba(0, 0, 0, 0.6)",
  },
};

/** Ant Design's own strings: English is built in, Chinese loads when chosen. */
function useAntLocale(lang: string): Locale | undefined {
  const [locale, setLocale] = useState<Locale>();
  useEffect(() => {
    if (lang !== "zh-CN") {
      setLocale(undefined);
      return;
    }
    let live = true;
    void import("antd/locale/zh_CN").then((m) => live && setLocale(m.default));
    return () => {
      live = false;
    };
  }, [lang]);
  return locale;
}

function Localised() {
  const { lang } = useI18n();
  const locale = useAntLocale(lang);
  return (
    <ConfigProvider locale={locale} theme={theme} button={{ autoInsertSpace: false }}>
      <AntApp>
        <ErrorBoundary>
          <SessionProvider>
            <Suspense fallback={null}>
              <Routed />
            </Suspense>
          </SessionProvider>
        </ErrorBoundary>
      </AntApp>
    </ConfigProvider>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <BrowserRouter>
        <I18nProvider>
          <Localised />
        </I18nProvider>
      </BrowserRouter>
    </QueryClientProvider>
  </StrictMode>,
);
