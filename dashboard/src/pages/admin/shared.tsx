// Pieces the administration tabs share: the secret-shown-once dialog and section titles.

import { Alert, Modal, Typography } from "antd";
import type { ReactNode } from "react";
import { useI18n } from "../../i18n";

/** A secret (token, invitation link) shown the one time the server returns it. */
export function ShownOnce({ title, secret, onClose }: { title: string; secret: string; onClose: () => void }) {
  const { t } = useI18n();
  return (
    <Modal open title={title} onOk={onClose} onCancel={onClose} cancelButtonProps={{ style: { display: "none" } }}>
      <Alert type="warning" showIcon title={t("admin.shownOnce")} style={{ marginBottom: 16 }} />
      <Typography.Paragraph copyable={{ text: secret, tooltips: [t("admin.copy"), t("admin.copied")] }} code style={{ wordBreak: "break-all" }} data-secret>
        {secret}
      </Typography.Paragraph>
    </Modal>
  );
}

export function Section({ title, children, extra }: { title: string; children: ReactNode; extra?: ReactNode }) {
  return (
    <section style={{ marginBottom: 24 }}>
      <div style={{ display: "flex", alignItems: "center", justifyContent: "space-between", gap: 8 }}>
        <h2 style={{ fontSize: 16 }}>{title}</h2>
        {extra}
      </div>
      {children}
    </section>
  );
}

export const when = (iso?: string | null) => (iso ? new Date(iso).toLocaleString() : "—");
