// Evidence: files are hashed in the browser (WebCrypto) and only their SHA-256 is deposited,
// on the chains chosen; many files at once go as one Merkle-anchored batch. Each receipt
// downloads as JSON for the offline verifier. A file can also be looked up by its hash.

import { App, Button, Card, Checkbox, Form, Select, Space, Table, Tooltip, Typography, Upload } from "antd";
import { InboxOutlined } from "@ant-design/icons";
import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, unwrap } from "../api/client";
import type { components } from "../api/schema";
import { useRole, useSession } from "../auth/session";
import { useI18n } from "../i18n";
import { Failed, Loading, Nothing } from "../layout/States";
import { StatusTag } from "../layout/StatusTag";
import { useChains } from "./data";
import { downloadJson, receiptName, sha256Hex } from "./evidence";

type Deposit = components["schemas"]["DepositView"];
type Hashed = { uid: string; name: string; size: number; hash: string };

function useHashedFiles() {
  const [files, setFiles] = useState<Hashed[]>([]);
  const [hashing, setHashing] = useState(0);
  const add = async (f: File) => {
    setHashing((n) => n + 1);
    try {
      const hash = await sha256Hex(await f.arrayBuffer());
      setFiles((fs) => (fs.some((x) => x.hash === hash) ? fs : [...fs, { uid: crypto.randomUUID(), name: f.name, size: f.size, hash }]));
    } finally {
      setHashing((n) => n - 1);
    }
  };
  return { files, setFiles, hashing: hashing > 0, add };
}

function DepositFiles() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const { tenantId } = useSession();
  const role = useRole();
  const chains = useChains();
  const running = chains.data.filter((c) => c.chain.phase === "running");
  const [chainIds, setChainIds] = useState<string[]>([]);
  const [anchor, setAnchor] = useState(true);
  const [names, setNames] = useState(true);
  const picked = useHashedFiles();
  const [done, setDone] = useState<{ deposits: Deposit[]; names: Map<string, string> }>();
  const allowed = role !== undefined && role !== "viewer";
  const chainName = (id: string) => chains.data.find((c) => c.chain.id === id)?.chain.name ?? id;

  const qc = useQueryClient();
  const deposit = useMutation({
    mutationFn: async () => {
      const items = picked.files;
      // One key per attempt: a retry after a lost answer deposits nothing twice.
      const params = { header: { "Idempotency-Key": crypto.randomUUID() } };
      const metadata = (f: Hashed) => (names ? { file: f.name, size: f.size } : {});
      if (items.length === 1) {
        const f = items[0]!;
        const one = unwrap(
          await api.POST("/api/v1/deposits", {
            params,
            body: { tenant_id: tenantId, content_hash: f.hash, chain_ids: chainIds, metadata: metadata(f) },
          }),
        );
        return [one];
      }
      const batch = unwrap(
        await api.POST("/api/v1/deposits/batch", {
          params: { ...params, query: { receipts: "full" } },
          body: {
            tenant_id: tenantId,
            chain_ids: chainIds,
            anchor: anchor ? "merkle" : "each",
            items: items.map((f) => ({ content_hash: f.hash, metadata: metadata(f) })),
          },
        }),
      );
      return batch.deposits;
    },
    onSuccess: (deposits) => {
      const byHash = new Map(picked.files.map((f) => [f.hash, f.name]));
      setDone({ deposits, names: byHash });
      picked.setFiles([]);
      void qc.invalidateQueries({ queryKey: ["deposits"] });
      void message.success(t("evidence.deposited", { n: deposits.length }));
    },
  });

  if (chains.isPending) return <Loading />;
  if (chains.error) return <Failed error={chains.error} retry={chains.refetch} />;
  if (running.length === 0) return <Nothing text={t("evidence.noChains")} />;

  return (
    <Card title={<h2 style={{ fontSize: 16, margin: 0 }}>{t("evidence.deposit")}</h2>}>
      <Form layout="vertical">
        <Form.Item label={t("evidence.chains")} required>
          <Select
            mode="multiple"
            aria-label={t("evidence.chains")}
            value={chainIds}
            onChange={setChainIds}
            options={running.map((c) => ({ value: c.chain.id, label: `${c.chain.name} (${c.alliance.name})` }))}
            maxCount={16}
          />
        </Form.Item>
        <Form.Item label={t("evidence.files")} extra={t("evidence.filesHint")}>
          <Upload.Dragger
            multiple
            showUploadList={false}
            beforeUpload={(f) => {
              void picked.add(f);
              return false;
            }}
          >
            <p className="ant-upload-drag-icon">
              <InboxOutlined aria-hidden />
            </p>
            <p className="ant-upload-text">{t("evidence.drop")}</p>
          </Upload.Dragger>
        </Form.Item>
        {picked.files.length > 0 && (
          <Table
            size="small"
            rowKey="uid"
            pagination={false}
            dataSource={picked.files}
            columns={[
              { title: t("evidence.file"), dataIndex: "name" },
              { title: "SHA-256", render: (_, f) => <Typography.Text code>{f.hash}</Typography.Text> },
              {
                title: "",
                render: (_, f) => (
                  <Button size="small" onClick={() => picked.setFiles((fs) => fs.filter((x) => x.uid !== f.uid))}>
                    {t("evidence.remove")}
                  </Button>
                ),
              },
            ]}
          />
        )}
        <Space direction="vertical" style={{ marginTop: 16 }}>
          <Checkbox checked={names} onChange={(e) => setNames(e.target.checked)}>
            {t("evidence.recordNames")}
          </Checkbox>
          {picked.files.length > 1 && (
            <Checkbox checked={anchor} onChange={(e) => setAnchor(e.target.checked)}>
              {t("evidence.anchor")}
            </Checkbox>
          )}
          {deposit.error && <Failed error={deposit.error} retry={() => deposit.mutate()} />}
          <Tooltip title={allowed ? undefined : t("evidence.needRole")}>
            <Button
              type="primary"
              disabled={!allowed || chainIds.length === 0 || picked.files.length === 0 || picked.hashing}
              loading={deposit.isPending}
              onClick={() => deposit.mutate()}
            >
              {t("evidence.submit", { n: picked.files.length })}
            </Button>
          </Tooltip>
          {!allowed && <Typography.Text type="secondary">{t("evidence.needRole")}</Typography.Text>}
        </Space>
      </Form>
      {done && (
        <Table
          style={{ marginTop: 24 }}
          rowKey="id"
          pagination={false}
          dataSource={done.deposits}
          columns={[
            { title: t("evidence.file"), render: (_, d) => done.names.get(d.content_hash) ?? d.content_hash.slice(0, 16) },
            {
              title: t("evidence.receipts"),
              render: (_, d) => (
                <Space wrap>
                  {d.receipts.map((r) => (
                    <Button
                      key={r.chain_id}
                      size="small"
                      disabled={!r.receipt}
                      onClick={() => downloadJson(receiptName(done.names.get(d.content_hash) ?? d.id, chainName(r.chain_id)), r.receipt)}
                    >
                      {t("evidence.download", { chain: chainName(r.chain_id), height: r.height })}
                    </Button>
                  ))}
                </Space>
              ),
            },
          ]}
        />
      )}
    </Card>
  );
}

function VerifyFile() {
  const { t } = useI18n();
  const { tenantId } = useSession();
  const [file, setFile] = useState<{ name: string; hash: string }>();
  const found = useMutation({
    mutationFn: async (hash: string) =>
      unwrap(await api.POST("/api/v1/deposits/verify", { body: { content_hash: hash, tenant_id: tenantId } })),
  });
  return (
    <Card title={<h2 style={{ fontSize: 16, margin: 0 }}>{t("evidence.lookup")}</h2>} style={{ marginTop: 24 }}>
      <Upload.Dragger
        showUploadList={false}
        beforeUpload={(f) => {
          void f.arrayBuffer().then(sha256Hex).then((hash) => {
            setFile({ name: f.name, hash });
            found.mutate(hash);
          });
          return false;
        }}
      >
        <p className="ant-upload-text">{t("evidence.lookupDrop")}</p>
      </Upload.Dragger>
      {file && (
        <Typography.Paragraph style={{ marginTop: 16 }}>
          {file.name}: <Typography.Text code>{file.hash}</Typography.Text>
        </Typography.Paragraph>
      )}
      {found.isPending && <Loading />}
      {found.error && <Failed error={found.error} retry={() => file && found.mutate(file.hash)} />}
      {found.data && (
        <div data-testid="lookup-result">
          {found.data.deposited ? (
            found.data.deposits.map((d) => (
              <Typography.Paragraph key={d.id}>
                <StatusTag tone="good">{t("evidence.found")}</StatusTag>
                {d.receipts.map((r) => `${t("evidence.atHeight", { height: r.height })} · ${new Date(r.committed_at).toLocaleString()}`).join("; ")}
              </Typography.Paragraph>
            ))
          ) : (
            <StatusTag tone="warn">{t("evidence.notFound")}</StatusTag>
          )}
        </div>
      )}
    </Card>
  );
}

type Page = components["schemas"]["Page_DepositView"];

/** The tenant's deposits, newest first, optionally of one chain; each receipt downloads. */
function RecentDeposits() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const { tenantId } = useSession();
  const chains = useChains();
  const [chainId, setChainId] = useState<string>();
  const chainName = (id: string) => chains.data.find((c) => c.chain.id === id)?.chain.name ?? id.slice(0, 8);
  const deposits = useInfiniteQuery({
    queryKey: ["deposits", tenantId, chainId],
    enabled: tenantId !== undefined,
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last: Page) => last.next_cursor,
    queryFn: async ({ pageParam }): Promise<Page> =>
      unwrap(await api.GET("/api/v1/deposits", { params: { query: { tenant_id: tenantId, chain_id: chainId, limit: 20, cursor: pageParam } } })),
  });
  const receipt = useMutation({
    mutationFn: async ({ id, chain }: { id: string; chain: string; name: string }) => {
      const d = unwrap(await api.GET("/api/v1/deposits/{deposit_id}", { params: { path: { deposit_id: id } } }));
      return d.receipts.find((r) => r.chain_id === chain)?.receipt;
    },
    onSuccess: (r, v) => (r ? downloadJson(receiptName(v.name, chainName(v.chain)), r) : void message.error(t("evidence.noReceipt"))),
    onError: (e) => void message.error(e.message),
  });
  const rows = deposits.data?.pages.flatMap((p) => p.items) ?? [];
  const label = (d: Deposit) => {
    const name = (d.metadata as Record<string, unknown> | null)?.["file"];
    return typeof name === "string" ? name : d.content_hash.slice(0, 16) + "…";
  };
  return (
    <Card
      title={<h2 style={{ fontSize: 16, margin: 0 }}>{t("evidence.recent")}</h2>}
      style={{ marginTop: 24 }}
      extra={
        <Select
          allowClear
          aria-label={t("evidence.filterChain")}
          placeholder={t("evidence.byChain")}
          style={{ width: 220 }}
          value={chainId}
          onChange={setChainId}
          options={chains.data.map((c) => ({ value: c.chain.id, label: `${c.chain.name} (${c.alliance.name})` }))}
        />
      }
    >
      {deposits.isPending ? (
        <Loading />
      ) : deposits.error ? (
        <Failed error={deposits.error} retry={() => void deposits.refetch()} />
      ) : rows.length === 0 ? (
        <Nothing text={t("evidence.noDeposits")} />
      ) : (
        <>
          <Table<Deposit>
            rowKey="id"
            pagination={false}
            size="small"
            dataSource={rows}
            columns={[
              { title: t("evidence.file"), render: (_, d) => <span title={d.content_hash}>{label(d)}</span> },
              { title: t("common.created"), render: (_, d) => new Date(d.created_at).toLocaleString() },
              {
                title: t("evidence.receipts"),
                render: (_, d) => (
                  <Space wrap>
                    {d.receipts.map((r) => (
                      <Button key={r.chain_id} size="small" onClick={() => receipt.mutate({ id: d.id, chain: r.chain_id, name: label(d) })}>
                        {t("evidence.download", { chain: chainName(r.chain_id), height: r.height })}
                      </Button>
                    ))}
                  </Space>
                ),
              },
            ]}
          />
          {deposits.hasNextPage && (
            <Button style={{ marginTop: 8 }} onClick={() => void deposits.fetchNextPage()} loading={deposits.isFetchingNextPage}>
              {t("evidence.older")}
            </Button>
          )}
        </>
      )}
    </Card>
  );
}

export default function Evidence() {
  const { t } = useI18n();
  return (
    <>
      <Typography.Title level={1} style={{ fontSize: 24 }}>
        {t("evidence.title")}
      </Typography.Title>
      <Typography.Paragraph>{t("evidence.intro")}</Typography.Paragraph>
      <DepositFiles />
      <VerifyFile />
      <RecentDeposits />
    </>
  );
}
