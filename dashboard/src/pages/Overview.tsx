import { Card, Col, List, Row, Typography } from "antd";
import type { ReactNode } from "react";
import { Link } from "react-router";
import { useI18n } from "../i18n";
import { Queried, type ListQuery } from "../layout/States";
import { ChainList } from "./ChainTable";
import { useExpiringCertificates, usePendingInvitations, usePendingVotes } from "./data";

/** A card with a list's loading, error and empty states. */
function ListCard<T>({ title, query, empty, render }: { title: string; query: ListQuery<T>; empty: string; render: (item: T) => ReactNode }) {
  return (
    <Card title={<h2 style={{ fontSize: 16, margin: 0 }}>{title}</h2>}>
      <Queried query={query} empty={empty}>
        {(rows) => <List dataSource={rows} renderItem={(item) => <List.Item>{render(item)}</List.Item>} />}
      </Queried>
    </Card>
  );
}

export default function Overview() {
  const { t } = useI18n();
  const invitations = usePendingInvitations();
  const votes = usePendingVotes();
  const certs = useExpiringCertificates();
  return (
    <>
      <Typography.Title level={1} style={{ fontSize: 24 }}>
        {t("overview.title")}
      </Typography.Title>
      <Row gutter={[16, 16]}>
        <Col xs={24} xl={16}>
          <Card title={<h2 style={{ fontSize: 16, margin: 0 }}>{t("overview.chains")}</h2>}>
            <ChainList />
          </Card>
        </Col>
        <Col xs={24} xl={8}>
          <Row gutter={[16, 16]}>
            <Col span={24}>
              <ListCard
                title={t("overview.votes")}
                query={votes}
                empty={t("overview.noVotes")}
                render={({ item, alliance }) => (
                  <List.Item.Meta
                    title={<Link to={`/alliances/${alliance.id}`}>{item.description || t(`alliance.kind.${item.kind as "invite_member"}`)}</Link>}
                    description={`${alliance.name} · ${t("overview.closes")}: ${new Date(item.expires_at).toLocaleString()}`}
                  />
                )}
              />
            </Col>
            <Col span={24}>
              <ListCard
                title={t("overview.invitations")}
                query={invitations}
                empty={t("overview.noInvitations")}
                render={(i) => (
                  <List.Item.Meta
                    title={<Link to="/alliances">{i.alliance_name}</Link>}
                    description={`${t("invitations.expires")}: ${new Date(i.expires_at).toLocaleString()}`}
                  />
                )}
              />
            </Col>
            <Col span={24}>
              <ListCard
                title={t("overview.expiring")}
                query={certs}
                empty={t("overview.noExpiring")}
                render={({ item, alliance }) => (
                  <List.Item.Meta
                    title={<Link to="/certificates">{item.common_name}</Link>}
                    description={`${alliance.name} · ${t("overview.expiresOn")}: ${new Date(item.not_after).toLocaleString()}`}
                  />
                )}
              />
            </Col>
          </Row>
        </Col>
      </Row>
    </>
  );
}
