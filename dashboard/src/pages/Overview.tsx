import { Card, Col, List, Row, Typography } from "antd";
import { useI18n } from "../i18n";
import { Failed, Loading, Nothing } from "../layout/States";
import { ChainList } from "./ChainTable";
import { usePendingInvitations } from "./data";

export default function Overview() {
  const { t } = useI18n();
  const invitations = usePendingInvitations();
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
          <Card title={<h2 style={{ fontSize: 16, margin: 0 }}>{t("overview.invitations")}</h2>}>
            {invitations.isPending ? (
              <Loading />
            ) : invitations.error ? (
              <Failed error={invitations.error} retry={() => void invitations.refetch()} />
            ) : invitations.data.length === 0 ? (
              <Nothing text={t("overview.noInvitations")} />
            ) : (
              <List
                dataSource={invitations.data}
                renderItem={(i) => (
                  <List.Item>
                    <List.Item.Meta
                      title={i.alliance_name}
                      description={`${t("invitations.expires")}: ${new Date(i.expires_at).toLocaleString()}`}
                    />
                  </List.Item>
                )}
              />
            )}
          </Card>
        </Col>
      </Row>
    </>
  );
}
