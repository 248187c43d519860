import { Card, Col, Empty, Row, Space, Statistic, Table, Tag, Typography } from 'antd';
import { useId, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { LoadBar } from '../agents/LoadBar';
import { PresenceBadge } from '../agents/PresenceBadge';
import { formatTime } from '../shared/time';
import { ChannelVolumeChart } from './ChannelVolumeChart';
import { useLiveRefresh } from './live-refresh';
import './messages';
import { overviewKey, useOverview, type AgentLoad, type TeamLine } from './overview';
import { WaitClock } from './WaitClock';

/** One headline figure; the group is named by its title so a screen reader reads "Waiting 3". */
function Kpi({ title, children }: { title: string; children: ReactNode }) {
  const id = useId();
  return (
    <Card size="small" role="group" aria-labelledby={id} className="supervisor-kpi">
      <Statistic title={<span id={id}>{title}</span>} valueRender={() => children} />
    </Card>
  );
}

export default function SupervisorPage() {
  const { t } = useTranslation('supervisor');
  const overview = useOverview();
  useLiveRefresh([overviewKey]);
  const data = overview.data;
  const measuredAt = overview.dataUpdatedAt;
  const online = data?.agents.filter((agent) => agent.presence === 'online').length ?? 0;

  return (
    <Space orientation="vertical" size={16} style={{ width: '100%' }}>
      <Space align="baseline" wrap style={{ justifyContent: 'space-between', width: '100%' }}>
        <Typography.Title level={4} style={{ margin: 0 }}>
          {t('title')}
        </Typography.Title>
        {measuredAt > 0 && <Typography.Text type="secondary">{t('updated', { time: formatTime(new Date(measuredAt)) })}</Typography.Text>}
      </Space>
      <Row gutter={[16, 16]}>
        <Col xs={12} md={8} xl={4}>
          <Kpi title={t('waiting')}>{data?.queue.waiting ?? '–'}</Kpi>
        </Col>
        <Col xs={12} md={8} xl={5}>
          <Kpi title={t('longestWait')}>
            <WaitClock seconds={data?.queue.longestWaitSeconds ?? null} measuredAt={measuredAt} />
          </Kpi>
        </Col>
        <Col xs={12} md={8} xl={5}>
          <Kpi title={t('agentsOnline')}>{data ? `${online} / ${data.agents.length}` : '–'}</Kpi>
        </Col>
        <Col xs={12} md={12} xl={5}>
          <Kpi title={t('openedToday')}>{data?.today.opened ?? '–'}</Kpi>
        </Col>
        <Col xs={12} md={12} xl={5}>
          <Kpi title={t('resolvedToday')}>{data?.today.resolved ?? '–'}</Kpi>
        </Col>
      </Row>
      <Row gutter={[16, 16]}>
        <Col xs={24} lg={10}>
          <Card title={t('queueByTeam')} size="small" style={{ height: '100%' }}>
            <Table<TeamLine>
              rowKey={(line) => line.teamId ?? ''}
              size="small"
              loading={overview.isLoading}
              dataSource={data?.queue.byTeam}
              pagination={false}
              scroll={{ y: 240 }}
              locale={{ emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('queueEmpty')} /> }}
              columns={[
                { title: t('team'), key: 'team', render: (_, line) => line.name ?? t('noTeam') },
                { title: t('teamWaiting'), dataIndex: 'waiting', width: 90, align: 'right' },
                {
                  title: t('teamLongest'),
                  key: 'longest',
                  width: 110,
                  align: 'right',
                  render: (_, line) => <WaitClock seconds={line.longestWaitSeconds} measuredAt={measuredAt} />,
                },
              ]}
            />
          </Card>
        </Col>
        <Col xs={24} lg={14}>
          <Card title={t('today')} size="small" style={{ height: '100%' }}>
            {data?.today.byChannel.length ? (
              <div role="img" aria-label={t('chartLabel')}>
                <ChannelVolumeChart channels={data.today.byChannel} />
              </div>
            ) : (
              <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('noVolume')} style={{ height: 248, display: 'flex', flexDirection: 'column', justifyContent: 'center', margin: 0 }} />
            )}
          </Card>
        </Col>
      </Row>
      <Card title={t('agents')} size="small">
        <Table<AgentLoad>
          rowKey="userId"
          size="small"
          loading={overview.isLoading}
          dataSource={data?.agents}
          pagination={{ pageSize: 20, hideOnSinglePage: true }}
          scroll={{ x: 640 }}
          locale={{ emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('noAgents')} /> }}
          columns={[
            { title: t('agent'), dataIndex: 'name' },
            { title: t('presence'), key: 'presence', width: 120, render: (_, agent) => <PresenceBadge presence={agent.presence} /> },
            { title: t('load'), key: 'load', width: 200, render: (_, agent) => <LoadBar active={agent.activeConversations} capacity={agent.capacity} /> },
            {
              title: t('teams'),
              key: 'teams',
              render: (_, agent) => (
                <Space size={[0, 4]} wrap>
                  {agent.teams.map((team) => (
                    <Tag key={team.id}>{team.name}</Tag>
                  ))}
                </Space>
              ),
            },
          ]}
        />
      </Card>
    </Space>
  );
}
