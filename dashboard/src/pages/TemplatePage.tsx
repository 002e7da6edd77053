// One template of the catalog: its description (Markdown, rendered without any raw HTML),
// versions, and an install form generated from the chosen version's JSON Schema, onto one of
// the tenant's running chains that the template supports.

import { Alert, App, Button, Card, Descriptions, Form, Select, Space, Table, Tag, Typography } from "antd";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import Markdown from "react-markdown";
import remarkGfm from "remark-gfm";
import { Link, useParams } from "react-router";
import { api, unwrap } from "../api/client";
import { showFieldErrors } from "../api/problem";
import type { components } from "../api/schema";
import { useRole, useSession } from "../auth/session";
import { useI18n } from "../i18n";
import { Failed, Loading } from "../layout/States";
import { StatusTag } from "../layout/StatusTag";
import { useChains } from "./data";
import { defaults, present, SchemaFields, type ObjectSchema } from "./SchemaFields";

type Version = components["schemas"]["VersionView"];
type Fields = { chain: string; version: string; parameters?: Record<string, unknown> };

/** Links only to the web or mail; anything else (javascript:, data:) is dropped. */
export function safeUrl(url: string): string {
  return /^(https?:|mailto:)/i.test(url) ? url : "";
}

/** A template's Markdown: no raw HTML (shown as text), no images, safe links only. */
export function Description({ text }: { text: string }) {
  return (
    <div className="template-description">
      <Markdown
        remarkPlugins={[remarkGfm]}
        skipHtml
        urlTransform={safeUrl}
        disallowedElements={["img"]}
        components={{
          a: ({ href, children }) => (href ? <a href={href} rel="noopener noreferrer nofollow" target="_blank">{children}</a> : <>{children}</>),
          h1: ({ children }) => <h2 style={{ fontSize: 18 }}>{children}</h2>,
          h2: ({ children }) => <h3 style={{ fontSize: 16 }}>{children}</h3>,
          h3: ({ children }) => <h4 style={{ fontSize: 14 }}>{children}</h4>,
          table: ({ children }) => <table style={{ borderCollapse: "collapse", marginBottom: 16 }}>{children}</table>,
          th: ({ children }) => <th style={{ textAlign: "left", borderBottom: "1px solid #d9d9d9", padding: "4px 8px" }}>{children}</th>,
          td: ({ children }) => <td style={{ borderBottom: "1px solid #f0f0f0", padding: "4px 8px", verticalAlign: "top" }}>{children}</td>,
        }}
      >
        {text}
      </Markdown>
    </div>
  );
}

function Install({ slug, engines, versions }: { slug: string; engines: string[]; versions: Version[] }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const { tenantId } = useSession();
  const role = useRole();
  const allowed = role !== undefined && role !== "viewer";
  const qc = useQueryClient();
  const chains = useChains();
  const [form] = Form.useForm<Fields>();
  const [error, setError] = useState<string>();
  const published = versions.filter((v) => v.status === "published");
  const chosen = Form.useWatch("version", form) ?? published[0]?.version;
  const schema = (published.find((v) => v.version === chosen)?.manifest as { parameters?: ObjectSchema } | undefined)?.parameters;
  const targets = chains.data.filter((c) => c.chain.phase === "running" && engines.includes(c.chain.engine));
  const install = useMutation({
    mutationFn: async (v: Fields) => {
      const target = targets.find((c) => c.chain.id === v.chain)!;
      const row = unwrap(
        await api.POST("/api/v1/alliances/{alliance_id}/chains/{chain_id}/installations", {
          params: { path: { alliance_id: target.alliance.id, chain_id: target.chain.id } },
          body: { tenant_id: tenantId!, slug, version: v.version, parameters: present(v.parameters) },
        }),
      );
      return { row, target };
    },
    onSuccess: ({ target }) => {
      setError(undefined);
      void qc.invalidateQueries({ queryKey: ["chain", target.chain.id] });
      void qc.invalidateQueries({ queryKey: ["catalog", slug] });
      void message.success(t("market.installed", { chain: target.chain.name }));
    },
    onError: (e) => {
      showFieldErrors(form, e);
      setError(e.message);
    },
  });
  if (published.length === 0) return <Alert type="info" showIcon title={t("market.noPublished")} />;
  const why = !allowed ? t("market.installNeedsRole") : targets.length === 0 ? t("market.noTarget") : undefined;
  return (
    <Form<Fields>
      form={form}
      name="install"
      layout="vertical"
      disabled={!!why}
      initialValues={{ version: published[0]!.version, parameters: defaults(schema) }}
      onValuesChange={(changed: Partial<Fields>) => {
        setError(undefined);
        if (changed.version) form.setFieldValue("parameters", defaults(schema));
      }}
      onFinish={(v) => install.mutate(v)}
    >
      {why && <Alert type="info" showIcon title={why} style={{ marginBottom: 16 }} />}
      <Form.Item name="chain" label={t("market.onChain")} rules={[{ required: true, message: t("market.pickChain") }]}>
        <Select options={targets.map((c) => ({ value: c.chain.id, label: `${c.chain.name} (${c.alliance.name})` }))} />
      </Form.Item>
      <Form.Item name="version" label={t("market.version")}>
        <Select options={published.map((v) => ({ value: v.version, label: v.version }))} />
      </Form.Item>
      {schema && (
        <fieldset style={{ border: 0, padding: 0, margin: 0 }} key={chosen}>
          <legend style={{ fontSize: 14 }}>{t("chain.parameters")}</legend>
          <SchemaFields schema={schema} name="parameters" />
        </fieldset>
      )}
      {error && <Alert type="error" showIcon role="alert" title={error} style={{ marginBottom: 16 }} />}
      <Button type="primary" htmlType="submit" loading={install.isPending}>
        {t("market.install")}
      </Button>
    </Form>
  );
}

export default function TemplatePage() {
  const { t } = useI18n();
  const { slug = "" } = useParams();
  const detail = useQuery({
    queryKey: ["catalog", slug],
    queryFn: async () => unwrap(await api.GET("/api/v1/catalog/{slug}", { params: { path: { slug } } })),
  });
  if (detail.isPending) return <Loading />;
  if (detail.error) return <Failed error={detail.error} retry={() => void detail.refetch()} />;
  const { template, versions } = detail.data;
  const latest = versions.find((v) => v.status === "published") ?? versions[0];
  const manifest = latest?.manifest as { description?: string; license?: string; publisher?: string } | undefined;
  return (
    <>
      <Typography.Paragraph>
        <Link to="/marketplace">{t("market.back")}</Link>
      </Typography.Paragraph>
      <Typography.Title level={1} style={{ fontSize: 24 }}>
        {template.name}
      </Typography.Title>
      <Typography.Paragraph>{template.summary}</Typography.Paragraph>
      <Descriptions
        size="small"
        column={{ xs: 1, md: 2 }}
        items={[
          { key: "publisher", label: t("market.publisher"), children: manifest?.publisher ?? "—" },
          { key: "category", label: t("market.category"), children: template.category },
          { key: "engines", label: t("chains.engine"), children: <Space>{template.engines.map((e) => <Tag key={e}>{e}</Tag>)}</Space> },
          { key: "license", label: t("market.license"), children: manifest?.license ?? "—" },
          { key: "installs", label: t("market.installsLabel"), children: template.installs },
        ]}
      />
      <Card title={<h2 style={{ fontSize: 16, margin: 0 }}>{t("market.description")}</h2>} style={{ marginTop: 16 }}>
        <Description text={manifest?.description ?? ""} />
      </Card>
      <Card title={<h2 style={{ fontSize: 16, margin: 0 }}>{t("market.installTitle")}</h2>} style={{ marginTop: 16 }}>
        <Install slug={template.slug} engines={template.engines} versions={versions} />
      </Card>
      <Card title={<h2 style={{ fontSize: 16, margin: 0 }}>{t("market.versions")}</h2>} style={{ marginTop: 16 }}>
        <Table<Version>
          rowKey="version"
          size="small"
          pagination={false}
          dataSource={versions}
          columns={[
            { title: t("market.version"), dataIndex: "version" },
            { title: t("common.status"), render: (_, v) => <StatusTag tone={v.status === "published" ? "good" : "warn"}>{v.status}</StatusTag> },
            { title: t("market.reason"), render: (_, v) => v.reason ?? "" },
            { title: t("common.created"), render: (_, v) => new Date(v.created_at).toLocaleDateString() },
            { title: "SHA-256", render: (_, v) => <code title={v.package_sha256}>{v.package_sha256.slice(0, 16)}…</code> },
          ]}
        />
      </Card>
    </>
  );
}
