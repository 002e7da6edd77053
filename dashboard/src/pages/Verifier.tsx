// The offline receipt verifier: a genesis file and a receipt file, checked in the browser
// by the TypeScript implementation of RECEIPTS.md (src/receipts). Nothing is sent anywhere,
// so it needs no server and no account: courts and auditors need not trust us.

import { Alert, Card, Col, Descriptions, Result, Row, Typography, Upload } from "antd";
import { StatusTag } from "../layout/StatusTag";
import { InboxOutlined } from "@ant-design/icons";
import { useMemo, useState } from "react";
import { useI18n } from "../i18n";
import { toHex } from "../receipts/bytes";
import { genesisHash, loadGenesis, verifyReceipt, type Verdict } from "../receipts/verify";
import type { Genesis } from "../receipts/model";

type Loaded<T> = { name: string; value: T } | { name: string; error: string };

async function bytesOf(file: File): Promise<Uint8Array> {
  return new Uint8Array(await file.arrayBuffer());
}

function Drop({ label, hint, testId, onFile }: { label: string; hint: string; testId: string; onFile: (f: File) => void }) {
  return (
    <Upload.Dragger
      accept=".json,application/json"
      multiple={false}
      showUploadList={false}
      beforeUpload={(f) => {
        onFile(f);
        return false; // never uploaded: read here
      }}
      data-testid={testId}
    >
      <p className="ant-upload-drag-icon">
        <InboxOutlined aria-hidden />
      </p>
      <p className="ant-upload-text">{label}</p>
      <p className="ant-upload-hint">{hint}</p>
    </Upload.Dragger>
  );
}

export default function Verifier() {
  const { t } = useI18n();
  const [genesis, setGenesis] = useState<Loaded<Genesis>>();
  const [receipt, setReceipt] = useState<{ name: string; bytes: Uint8Array }>();

  const verdict = useMemo<Verdict | undefined>(() => {
    if (!genesis || !("value" in genesis) || !receipt) return undefined;
    return verifyReceipt(genesis.value, receipt.bytes);
  }, [genesis, receipt]);

  return (
    <>
      <Typography.Title level={1} style={{ fontSize: 24 }}>
        {t("verifier.title")}
      </Typography.Title>
      <Typography.Paragraph>{t("verifier.intro")}</Typography.Paragraph>
      <Row gutter={[16, 16]}>
        <Col xs={24} md={12}>
          <Card title={<h2 style={{ fontSize: 16, margin: 0 }}>{t("verifier.genesis")}</h2>}>
            <Drop
              label={t("verifier.dropGenesis")}
              hint={t("verifier.genesisHint")}
              testId="genesis-drop"
              onFile={async (f) => {
                try {
                  setGenesis({ name: f.name, value: loadGenesis(await bytesOf(f)) });
                } catch (e) {
                  setGenesis({ name: f.name, error: e instanceof Error ? e.message : String(e) });
                }
              }}
            />
            {genesis && "error" in genesis && (
              <Alert type="error" showIcon style={{ marginTop: 16 }} title={t("verifier.badGenesis", { name: genesis.name })} description={genesis.error} />
            )}
            {genesis && "value" in genesis && (
              <Descriptions size="small" column={1} style={{ marginTop: 16 }} data-testid="genesis-summary">
                <Descriptions.Item label={t("verifier.file")}>{genesis.name}</Descriptions.Item>
                <Descriptions.Item label={t("verifier.chainId")}>{genesis.value.chainId}</Descriptions.Item>
                <Descriptions.Item label={t("verifier.validators")}>{genesis.value.validators.length}</Descriptions.Item>
                <Descriptions.Item label={t("verifier.genesisHash")}>
                  <Typography.Text code copyable style={{ wordBreak: "break-all" }}>
                    {toHex(genesisHash(genesis.value))}
                  </Typography.Text>
                </Descriptions.Item>
              </Descriptions>
            )}
          </Card>
        </Col>
        <Col xs={24} md={12}>
          <Card title={<h2 style={{ fontSize: 16, margin: 0 }}>{t("verifier.receipt")}</h2>}>
            <Drop
              label={t("verifier.dropReceipt")}
              hint={t("verifier.receiptHint")}
              testId="receipt-drop"
              onFile={async (f) => setReceipt({ name: f.name, bytes: await bytesOf(f) })}
            />
            {receipt && (
              <Typography.Paragraph style={{ marginTop: 16 }}>
                {t("verifier.file")}: {receipt.name}
              </Typography.Paragraph>
            )}
          </Card>
        </Col>
      </Row>
      <div style={{ marginTop: 24 }} aria-live="polite" data-testid="verdict">
        {verdict?.valid === true && (
          <Result
            status="success"
            title={t("verifier.valid")}
            subTitle={t("verifier.validDetail", { height: String(verdict.receipt.height), chain: verdict.receipt.chain_id })}
            extra={
              <Descriptions bordered size="small" column={1} style={{ textAlign: "left" }}>
                <Descriptions.Item label="tx_hash">{verdict.receipt.tx_hash}</Descriptions.Item>
                <Descriptions.Item label={t("verifier.block")}>{`${verdict.receipt.height} · ${verdict.receipt.block_hash}`}</Descriptions.Item>
                <Descriptions.Item label={t("verifier.time")}>{new Date(Number(verdict.receipt.block_time_ms)).toISOString()}</Descriptions.Item>
                <Descriptions.Item label={t("verifier.account")}>{`${verdict.receipt.account} (${verdict.receipt.kind})`}</Descriptions.Item>
                <Descriptions.Item label={t("verifier.power")}>{`${verdict.receipt.signed_power} / ${verdict.receipt.total_power}`}</Descriptions.Item>
                {verdict.anchored_item && (
                  <Descriptions.Item label={t("verifier.item")}>
                    {`${verdict.anchored_item.hash_alg} ${verdict.anchored_item.content_hash} (${Number(verdict.anchored_item.index) + 1} / ${verdict.anchored_item.size})`}
                  </Descriptions.Item>
                )}
              </Descriptions>
            }
          />
        )}
        {verdict?.valid === false && (
          <Result
            status="error"
            title={t("verifier.invalid")}
            subTitle={
              <>
                <StatusTag tone="bad">{verdict.code}</StatusTag> {verdict.reason}
              </>
            }
          />
        )}
      </div>
    </>
  );
}
