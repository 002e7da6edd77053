// Creating a chain: in which alliance, its name, engine and nodes per member, or from a
// marketplace template with its parameters. Every engine is listed; those this server's
// runtime cannot run say why as soon as they are chosen (GET /api/v1/engines), and a 422
// from the server still lands on the fields it names.

import { Alert, App, Button, Card, Form, Input, InputNumber, Select, Tooltip, Typography, type FormInstance } from "antd";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { useNavigate } from "react-router";
import { api, unwrap } from "../api/client";
import { showFieldErrors } from "../api/problem";
import { useIsAdmin, useSession } from "../auth/session";
import { useI18n } from "../i18n";
import { useAlliances } from "./data";
import { useDraft } from "../forms/draft";
import { defaults, present, SchemaFields, type ObjectSchema } from "./SchemaFields";

type Fields = {
  alliance: string;
  name: string;
  engine: "native" | "fabric" | "quorum";
  nodes_per_member: number;
  template?: string;
  parameters?: Record<string, unknown>;
};

/** Fills the parameters with the schema's defaults when a template is chosen. */
function ParametersDefaults({ form, schema }: { form: FormInstance<Fields>; schema: ObjectSchema }) {
  useEffect(() => {
    if (!form.getFieldValue("parameters")) form.setFieldValue("parameters", defaults(schema));
  }, [form, schema]);
  return null;
}

export default function NewChain() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const { tenantId } = useSession();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const alliances = useAlliances();
  const [form] = Form.useForm<Fields>();
  const draft = useDraft(form, "chains/new");
  const engine = Form.useWatch("engine", form);
  const template = Form.useWatch("template", form);
  const [error, setError] = useState<string>();
  const admin = useIsAdmin();
  const catalog = useQuery({
    queryKey: ["catalog"],
    queryFn: async () => unwrap(await api.GET("/api/v1/catalog", { params: { query: { limit: 100 } } })).items,
  });
  // The chosen template's latest version: its parameters' schema makes the form below.
  const detail = useQuery({
    queryKey: ["catalog", template],
    enabled: !!template,
    queryFn: async () => unwrap(await api.GET("/api/v1/catalog/{slug}", { params: { path: { slug: template! } } })),
  });
  const manifest = detail.data?.versions[0]?.manifest as { parameters?: ObjectSchema } | undefined;
  const schema = template ? manifest?.parameters : undefined;
  const create = useMutation({
    mutationFn: async (v: Fields) => {
      const parameters = v.template ? present(v.parameters) : undefined;
      const chain = unwrap(
        await api.POST("/api/v1/alliances/{alliance_id}/chains", {
          params: { path: { alliance_id: v.alliance } },
          body: {
            tenant_id: tenantId!,
            name: v.name,
            engine: v.engine,
            nodes_per_member: v.nodes_per_member,
            ...(v.template ? { template: { slug: v.template, parameters } } : {}),
          },
        }),
      );
      return { chain, alliance: v.alliance };
    },
    onSuccess: ({ chain, alliance }) => {
      draft.clear();
      void message.success(t("chain.created", { name: chain.name }));
      void qc.invalidateQueries({ queryKey: ["chains", alliance] });
      navigate(`/alliances/${alliance}/chains/${chain.id}`);
    },
    onError: (e) => {
      showFieldErrors(form, e);
      setError(e.message);
    },
  });
  const active = (alliances.data ?? []).filter((a) => a.status === "active");
  const runnable = useQuery({
    queryKey: ["engines"],
    staleTime: Infinity,
    queryFn: async () => unwrap(await api.GET("/api/v1/engines")),
  });
  const refusal = runnable.data?.find((e) => e.engine === engine && !e.available)?.reason ?? undefined;
  const engines = (["native", "fabric", "quorum"] as const).map((value) => {
    const known = runnable.data?.find((e) => e.engine === value);
    const label = t(`chain.engine.${value}`);
    return { value, label: known && !known.available ? `${label} — ${t("chain.notHere")}` : label, title: label };
  });
  return (
    <Card title={<h2 style={{ fontSize: 16, margin: 0 }}>{t("chain.new")}</h2>}>
      <Form<Fields>
        form={form}
        layout="vertical"
        disabled={!admin}
        initialValues={{ engine: "native", nodes_per_member: 1 }}
        onFinish={(v) => create.mutate(v)}
        onValuesChange={(changed: Partial<Fields>) => {
          draft.onValuesChange();
          // A server error is about what was sent: it goes once the field changes.
          setError(undefined);
          form.setFields(Object.keys(changed).map((name) => ({ name, errors: [] })) as never[]);
          if (changed.template !== undefined) form.setFieldValue("parameters", undefined);
        }}
      >
        <Form.Item name="alliance" label={t("chains.alliance")} rules={[{ required: true, message: t("chain.pickAlliance") }]}>
          <Select options={active.map((a) => ({ value: a.id, label: a.name }))} loading={alliances.isPending} />
        </Form.Item>
        <Form.Item
          name="name"
          label={t("common.name")}
          rules={[{ required: true, pattern: /^[A-Za-z0-9 ._-]{1,64}$/, message: t("chain.nameShape") }]}
        >
          <Input />
        </Form.Item>
        <Form.Item name="engine" label={t("chains.engine")}>
          <Select options={engines} />
        </Form.Item>
        {refusal && <Alert type="warning" showIcon role="alert" title={t("chain.engineRefused")} description={refusal} style={{ marginBottom: 16 }} data-testid="engine-refused" />}
        <Form.Item name="nodes_per_member" label={t("chains.nodesPerMember")} rules={[{ required: true }]}>
          <InputNumber min={1} max={16} />
        </Form.Item>
        <Form.Item name="template" label={t("chain.template")} extra={t("chain.templateHint")}>
          <Select
            allowClear
            loading={catalog.isPending}
            options={(catalog.data ?? [])
              .filter((c) => !engine || c.template.engines.includes(engine))
              .map((c) => ({ value: c.template.slug, label: `${c.template.name} (${c.latest_version})` }))}
          />
        </Form.Item>
        {schema && (
          <fieldset style={{ border: 0, padding: 0, margin: 0 }} key={template}>
            <legend style={{ fontSize: 14 }}>{t("chain.parameters")}</legend>
            <ParametersDefaults form={form} schema={schema} />
            <SchemaFields schema={schema} name="parameters" />
          </fieldset>
        )}
        {error && <Alert type="error" showIcon role="alert" title={error} style={{ marginBottom: 16 }} />}
        <Tooltip title={admin ? undefined : t("chain.createNeedsAdmin")}>
          <Button type="primary" htmlType="submit" loading={create.isPending} disabled={!admin || !!refusal}>
            {t("chain.create")}
          </Button>
        </Tooltip>
        {!admin && <Typography.Paragraph type="secondary">{t("chain.createNeedsAdmin")}</Typography.Paragraph>}
      </Form>
    </Card>
  );
}
