// The marketplace: the catalog every customer searches, a partner's own templates (upload a
// package, submit a version for review), and the platform reviewer's queue (approve or
// reject with a reason).

import { App, Button, Card, Col, Empty, Input, Modal, Row, Select, Space, Table, Tag, Typography, Upload } from "antd";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "react-router";
import { api, unwrap } from "../api/client";
import type { components } from "../api/schema";
import { useRole, useSession } from "../auth/session";
import { useI18n } from "../i18n";
import { Failed, Loading, Nothing } from "../layout/States";
import { StatusTag, type Tone } from "../layout/StatusTag";

type Status = components["schemas"]["VersionStatus"];
type Uploaded = components["schemas"]["Uploaded"];

const statusTone: Record<Status, Tone> = { draft: "none", in_review: "busy", published: "good", rejected: "bad", deprecated: "warn" };

function Catalog() {
  const { t } = useI18n();
  const [q, setQ] = useState("");
  const [engine, setEngine] = useState<string>();
  const [category, setCategory] = useState<string>();
  const [sort, setSort] = useState<"installs" | "recent">("installs");
  const catalog = useQuery({
    queryKey: ["catalog", "search", q, engine, category, sort],
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/catalog", { params: { query: { limit: 100, sort, ...(q ? { q } : {}), ...(engine ? { engine } : {}), ...(category ? { category } : {}) } } })).items,
  });
  // The categories on offer: those of the whole catalog (one unfiltered read).
  const all = useQuery({
    queryKey: ["catalog", "categories"],
    queryFn: async () => unwrap(await api.GET("/api/v1/catalog", { params: { query: { limit: 200 } } })).items,
  });
  const categories = [...new Set((all.data ?? []).map((c) => c.template.category))].sort();
  return (
    <>
      <Space wrap style={{ marginBottom: 16 }}>
        <Input.Search aria-label={t("market.search")} placeholder={t("market.search")} allowClear onSearch={setQ} style={{ width: 320 }} />
        <Select
          aria-label={t("chains.engine")}
          allowClear
          placeholder={t("chains.engine")}
          style={{ width: 180 }}
          value={engine}
          onChange={setEngine}
          options={["native", "fabric", "quorum"].map((e) => ({ value: e, label: e }))}
        />
        <Select
          aria-label={t("market.category")}
          allowClear
          placeholder={t("market.category")}
          style={{ width: 180 }}
          value={category}
          onChange={setCategory}
          options={categories.map((c) => ({ value: c, label: c }))}
        />
        <Select
          aria-label={t("market.sort")}
          style={{ width: 200 }}
          value={sort}
          onChange={setSort}
          options={[
            { value: "installs", label: t("market.sortInstalls") },
            { value: "recent", label: t("market.sortRecent") },
          ]}
        />
      </Space>
      {catalog.isPending ? (
        <Loading />
      ) : catalog.error ? (
        <Failed error={catalog.error} retry={() => void catalog.refetch()} />
      ) : catalog.data.length === 0 ? (
        <Nothing text={t("market.nothingFound")} />
      ) : (
        <Row gutter={[16, 16]}>
          {catalog.data.map((c) => (
            <Col key={c.template.id} xs={24} md={12} xl={8}>
              <Card title={<h3 style={{ fontSize: 15, margin: 0 }}><Link to={`/marketplace/${c.template.slug}`}>{c.template.name}</Link></h3>} extra={<Tag>{c.latest_version}</Tag>}>
                <Typography.Paragraph>{c.template.summary}</Typography.Paragraph>
                <Typography.Paragraph type="secondary">
                  {t("market.by", { publisher: c.publisher })} · {c.template.engines.join(", ")} · {t("market.installs", { n: c.template.installs })}
                </Typography.Paragraph>
              </Card>
            </Col>
          ))}
        </Row>
      )}
    </>
  );
}

function MyTemplates() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const { tenantId } = useSession();
  const role = useRole();
  const qc = useQueryClient();
  const mine = useQuery({
    queryKey: ["my-templates", tenantId],
    enabled: !!tenantId,
    queryFn: async () => unwrap(await api.GET("/api/v1/tenants/{tenant_id}/templates", { params: { path: { tenant_id: tenantId! } } })).items,
  });
  const refresh = () => void qc.invalidateQueries({ queryKey: ["my-templates"] });
  const upload = useMutation({
    mutationFn: async (file: File) =>
      unwrap(
        await api.POST("/api/v1/tenants/{tenant_id}/templates", {
          params: { path: { tenant_id: tenantId! } },
          body: (await file.arrayBuffer()) as never,
          bodySerializer: (b: unknown) => b as BodyInit,
          headers: { "Content-Type": "application/gzip" },
        }),
      ),
    onSuccess: (u) => {
      void message.success(t("market.uploaded", { name: u.template.name, version: u.version.version }));
      refresh();
    },
    onError: (e) => void message.error(e.message),
  });
  const submit = useMutation({
    mutationFn: async ({ id, version }: { id: string; version: string }) =>
      unwrap(await api.POST("/api/v1/templates/{template_id}/versions/{version}/submit", { params: { path: { template_id: id, version } } })),
    onSuccess: () => {
      void message.success(t("market.submitted"));
      refresh();
      void qc.invalidateQueries({ queryKey: ["reviews"] });
    },
    onError: (e) => void message.error(e.message),
  });
  const [deprecating, setDeprecating] = useState<{ id: string; version: string }>();
  const [reason, setReason] = useState("");
  const deprecate = useMutation({
    mutationFn: async ({ id, version }: { id: string; version: string }) =>
      unwrap(
        await api.POST("/api/v1/templates/{template_id}/versions/{version}/deprecate", {
          params: { path: { template_id: id, version } },
          body: { reason: reason.trim() || undefined },
        }),
      ),
    onSuccess: () => {
      setDeprecating(undefined);
      setReason("");
      void message.success(t("market.deprecated"));
      refresh();
      void qc.invalidateQueries({ queryKey: ["catalog"] });
    },
    onError: (e) => void message.error(e.message),
  });
  const canPublish = role !== undefined && role !== "viewer";
  return (
    <>
      <Modal
        open={!!deprecating}
        title={t("market.deprecateTitle", { version: deprecating?.version ?? "" })}
        okText={t("market.deprecate")}
        okButtonProps={{ danger: true, loading: deprecate.isPending }}
        onOk={() => deprecating && deprecate.mutate(deprecating)}
        onCancel={() => setDeprecating(undefined)}
      >
        <Typography.Paragraph>{t("market.deprecateHelp")}</Typography.Paragraph>
        <Input.TextArea aria-label={t("market.reason")} value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} />
      </Modal>
      <Upload.Dragger
        accept=".tar.gz,.tgz,application/gzip"
        showUploadList={false}
        disabled={!canPublish || upload.isPending}
        beforeUpload={(f) => {
          upload.mutate(f);
          return false;
        }}
      >
        <p className="ant-upload-text">{t("market.drop")}</p>
        <p className="ant-upload-hint">{t("market.dropHint")}</p>
      </Upload.Dragger>
      <div style={{ marginTop: 16 }}>
        {mine.isPending ? (
          <Loading />
        ) : mine.error ? (
          <Failed error={mine.error} retry={() => void mine.refetch()} />
        ) : mine.data.length === 0 ? (
          <Nothing text={t("market.noneYet")} />
        ) : (
          <Table
            rowKey={(r) => `${r.id}/${r.version}`}
            size="small"
            pagination={false}
            dataSource={mine.data.flatMap((d) => d.versions.map((v) => ({ id: d.template.id, name: d.template.name, slug: d.template.slug, ...v })))}
            columns={[
              { title: t("common.name"), render: (_, r) => `${r.name} (${r.slug})` },
              { title: t("market.version"), dataIndex: "version" },
              { title: t("common.status"), render: (_, r) => <StatusTag tone={statusTone[r.status]}>{r.status}</StatusTag> },
              { title: t("market.reason"), render: (_, r) => r.reason ?? "" },
              {
                title: "",
                render: (_, r) =>
                  r.status === "draft" || r.status === "rejected" ? (
                    <Button size="small" disabled={!canPublish} onClick={() => submit.mutate({ id: r.id, version: r.version })}>
                      {t("market.submit")}
                    </Button>
                  ) : (
                    r.status === "published" && (
                      <Button size="small" danger disabled={!canPublish} onClick={() => setDeprecating({ id: r.id, version: r.version })}>
                        {t("market.deprecate")}
                      </Button>
                    )
                  ),
              },
            ]}
          />
        )}
      </div>
    </>
  );
}

function Reviews() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const qc = useQueryClient();
  const [rejecting, setRejecting] = useState<Uploaded>();
  const [reason, setReason] = useState("");
  const queue = useQuery({
    queryKey: ["reviews"],
    queryFn: async () => unwrap(await api.GET("/api/v1/template-reviews")).items,
  });
  const review = useMutation({
    mutationFn: async ({ u, decision }: { u: Uploaded; decision: "approve" | "reject" }) =>
      unwrap(
        await api.POST("/api/v1/templates/{template_id}/versions/{version}/review", {
          params: { path: { template_id: u.template.id, version: u.version.version } },
          body: { decision, reason: decision === "reject" ? reason : null },
        }),
      ),
    onSuccess: (v) => {
      setRejecting(undefined);
      setReason("");
      void message.success(t("market.reviewed", { status: v.status }));
      void qc.invalidateQueries({ queryKey: ["reviews"] });
      void qc.invalidateQueries({ queryKey: ["catalog"] });
    },
    onError: (e) => void message.error(e.message),
  });
  if (queue.isPending) return <Loading />;
  if (queue.error) return <Failed error={queue.error} retry={() => void queue.refetch()} />;
  if (queue.data.length === 0) return <Empty description={t("market.queueEmpty")} />;
  return (
    <>
      <Table
        rowKey={(u) => `${u.template.id}/${u.version.version}`}
        size="small"
        pagination={false}
        dataSource={queue.data}
        columns={[
          { title: t("common.name"), render: (_, u) => `${u.template.name} (${u.template.slug})` },
          { title: t("market.version"), render: (_, u) => u.version.version },
          { title: "SHA-256", render: (_, u) => <Typography.Text code>{u.version.package_sha256.slice(0, 16)}…</Typography.Text> },
          {
            title: "",
            render: (_, u) => (
              <Space>
                <Button size="small" type="primary" onClick={() => review.mutate({ u, decision: "approve" })}>
                  {t("market.approve")}
                </Button>
                <Button size="small" danger onClick={() => setRejecting(u)}>
                  {t("market.reject")}
                </Button>
              </Space>
            ),
          },
        ]}
      />
      <Modal
        open={!!rejecting}
        title={t("market.rejectTitle")}
        okText={t("market.reject")}
        okButtonProps={{ danger: true, disabled: reason.trim() === "", loading: review.isPending }}
        cancelText={t("common.cancel")}
        onOk={() => rejecting && review.mutate({ u: rejecting, decision: "reject" })}
        onCancel={() => setRejecting(undefined)}
      >
        <Input.TextArea aria-label={t("market.reason")} rows={3} value={reason} onChange={(e) => setReason(e.target.value)} />
      </Modal>
    </>
  );
}

export default function Marketplace() {
  const { t } = useI18n();
  const { me, tenants, tenantId } = useSession();
  const partner = tenants.find((m) => m.tenant.id === tenantId)?.tenant.kind === "partner";
  const h2 = (s: string) => <h2 style={{ fontSize: 16, margin: 0 }}>{s}</h2>;
  return (
    <>
      <Typography.Title level={1} style={{ fontSize: 24 }}>
        {t("market.title")}
      </Typography.Title>
      <Card title={h2(t("market.catalog"))}>
        <Catalog />
      </Card>
      {partner && (
        <Card title={h2(t("market.mine"))} style={{ marginTop: 16 }}>
          <MyTemplates />
        </Card>
      )}
      {me?.user.is_platform_admin && (
        <Card title={h2(t("market.reviews"))} style={{ marginTop: 16 }}>
          <Reviews />
        </Card>
      )}
    </>
  );
}
