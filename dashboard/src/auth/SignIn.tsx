import { Alert, Button, Card, Divider, Form, Input, Typography } from "antd";
import { useState } from "react";
import { useNavigate } from "react-router";
import { showFieldErrors } from "../api/problem";
import { useI18n } from "../i18n";
import { RETURN_KEY, useSession } from "./session";

type Fields = { token: string };

export default function SignIn() {
  const { t } = useI18n();
  const { signInWithToken, config, expired } = useSession();
  const navigate = useNavigate();
  const [form] = Form.useForm<Fields>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async ({ token }: Fields) => {
    setBusy(true);
    setError(undefined);
    try {
      await signInWithToken(token.trim());
      const back = window.sessionStorage.getItem(RETURN_KEY);
      window.sessionStorage.removeItem(RETURN_KEY);
      // Back to the page the session ended on; a deep link opened signed out stays put.
      if (back && back.startsWith("/") && !back.startsWith("//")) navigate(back, { replace: true });
    } catch (e) {
      if (!showFieldErrors(form, e, "token")) {
        setError(e instanceof Error ? e.message : String(e));
      }
    } finally {
      setBusy(false);
    }
  };

  const providerLogin = () => {
    const back = window.sessionStorage.getItem(RETURN_KEY) ?? "/";
    window.location.assign(`/auth/login?return_to=${encodeURIComponent(back)}`);
  };

  return (
    <main style={{ display: "flex", justifyContent: "center", paddingTop: "10vh" }}>
      <Card style={{ width: 440 }}>
        <Typography.Title level={1} style={{ fontSize: 24 }}>
          {t("signIn.title")}
        </Typography.Title>
        {expired && <Alert type="warning" showIcon title={t("signIn.expired")} style={{ marginBottom: 16 }} />}
        {error && <Alert type="error" showIcon title={error} role="alert" style={{ marginBottom: 16 }} />}
        {config?.sso && (
          <>
            <Button type="primary" block onClick={providerLogin}>
              {t("signIn.withProvider", { issuer: config.issuer ?? "SSO" })}
            </Button>
            <Divider />
          </>
        )}
        <Form form={form} layout="vertical" onFinish={submit} requiredMark={false}>
          <Form.Item
            name="token"
            label={t("signIn.token")}
            extra={t("signIn.tokenHelp")}
            rules={[
              { required: true, whitespace: true, message: t("signIn.tokenRequired") },
              { pattern: /^\s*cst_/, message: t("signIn.tokenShape") },
            ]}
          >
            <Input.Password autoComplete="off" autoFocus />
          </Form.Item>
          <Button type={config?.sso ? "default" : "primary"} htmlType="submit" loading={busy} block>
            {t("signIn.submit")}
          </Button>
        </Form>
      </Card>
    </main>
  );
}
