// The tenant's audit log with the server's filters (outcome, action, who, when), newest
// first, a page at a time.

import { Button, DatePicker, Form, Input, Select, Space, Table } from "antd";
import { StatusTag, type Tone } from "../../layout/StatusTag";
import { useInfiniteQuery } from "@tanstack/react-query";
import { useState } from "react";
import { api, unwrap } from "../../api/client";
import type { components } from "../../api/schema";
import { useIsAdmin, useSession } from "../../auth/session";
import { useI18n } from "../../i18n";
import { Failed, Loading, Nothing } from "../../layout/States";
import { useMembers } from "./Members";
import { Section, when } from "./shared";

type Event = components["schemas"]["AuditEventView"];
type Page = components["schemas"]["Page_AuditEventView"];
type Outcome = components["schemas"]["OutcomeClass"];
type Filters = { outcome?: Outcome; action?: string; actor_user_id?: string; since?: string; until?: string };
type Stamp = { toISOString: () => string };
type FormValues = { outcome?: Outcome; action?: string; actor_user_id?: string; window?: [Stamp | null, Stamp | null] | null };

const TONES: Record<string, Tone> = { success: "good", denied: "warn", invalid: "warn", failed: "bad" };

export function Audit() {
  const { t } = useI18n();
  const { tenantId } = useSession();
  const admin = useIsAdmin();
  const members = useMembers();
  const [filters, setFilters] = useState<Filters>({});
  const events = useInfiniteQuery({
    queryKey: ["audit", tenantId, filters],
    enabled: tenantId !== undefined && admin,
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last: Page) => last.next_cursor,
    queryFn: async ({ pageParam }): Promise<Page> =>
      unwrap(await api.GET("/api/v1/audit-events", { params: { query: { tenant_id: tenantId, limit: 50, cursor: pageParam, ...filters } } })),
  });
  if (!admin) return <Section title={t("admin.audit")}><Nothing text={t("admin.needsAdmin")} /></Section>;
  const name = (id?: string | null) => (id ? ((members.data ?? []).find((m) => m.user.id === id)?.user.display_name ?? id.slice(0, 8)) : t("admin.anonymous"));
  const rows = events.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <Section title={t("admin.audit")}>
      <Form<FormValues>
        name="audit-filter"
        layout="inline"
        style={{ rowGap: 8, marginBottom: 8 }}
        onFinish={(v) =>
          setFilters({
            outcome: v.outcome,
            action: v.action?.trim() || undefined,
            actor_user_id: v.actor_user_id,
            since: v.window?.[0]?.toISOString(),
            until: v.window?.[1]?.toISOString(),
          })
        }
      >
        <Form.Item name="outcome" label={t("admin.outcome")}>
          <Select allowClear style={{ width: 140 }} options={(["success", "denied", "invalid", "failed"] as Outcome[]).map((o) => ({ value: o, label: t(`outcome.${o}`) }))} />
        </Form.Item>
        <Form.Item name="action" label={t("admin.action")} rules={[{ max: 200 }]}>
          <Input style={{ width: 200 }} placeholder="POST /api/v1/tokens" />
        </Form.Item>
        <Form.Item name="actor_user_id" label={t("admin.actor")}>
          <Select allowClear style={{ width: 180 }} options={(members.data ?? []).map((m) => ({ value: m.user.id, label: m.user.display_name }))} />
        </Form.Item>
        <Form.Item name="window" label={t("admin.window")}>
          <DatePicker.RangePicker showTime allowEmpty={[true, true]} />
        </Form.Item>
        <Form.Item>
          <Space>
            <Button type="primary" htmlType="submit">{t("admin.filter")}</Button>
            <Button htmlType="reset" onClick={() => setFilters({})}>{t("admin.clear")}</Button>
          </Space>
        </Form.Item>
      </Form>
      {events.isPending ? (
        <Loading />
      ) : events.error ? (
        <Failed error={events.error} retry={() => void events.refetch()} />
      ) : rows.length === 0 ? (
        <Nothing text={t("admin.noEvents")} />
      ) : (
        <>
          <Table<Event>
            rowKey={(e) => String(e.id)}
            dataSource={rows}
            pagination={false}
            size="small"
            columns={[
              { title: t("admin.time"), render: (_, e) => when(e.time) },
              { title: t("admin.action"), render: (_, e) => <code>{e.action}</code> },
              { title: t("admin.outcome"), render: (_, e) => <StatusTag tone={TONES[e.outcome] ?? "none"}>{t(`outcome.${e.outcome as Outcome}`)} {e.status}</StatusTag> },
              { title: t("admin.actor"), render: (_, e) => name(e.actor_user_id) },
              { title: t("admin.target"), render: (_, e) => <code>{e.target ?? "—"}</code> },
              { title: t("admin.request"), render: (_, e) => <code>{e.request_id}</code> },
            ]}
          />
          {events.hasNextPage && (
            <Button style={{ marginTop: 8 }} onClick={() => void events.fetchNextPage()} loading={events.isFetchingNextPage}>
              {t("admin.more")}
            </Button>
          )}
        </>
      )}
    </Section>
  );
}
