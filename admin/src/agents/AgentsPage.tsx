import { EditOutlined, PlusOutlined } from '@ant-design/icons';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { App, Button, Card, Input, Select, Space, Table, Tag, Typography } from 'antd';
import { useDeferredValue, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { put } from '../api/client';
import { useLiveRefresh } from '../supervisor/live-refresh';
import { useTeamName } from '../teams/queries';
import { AddProfileModal } from './AddProfileModal';
import { AgentDrawer, type ProfileTarget } from './AgentDrawer';
import { LoadBar } from './LoadBar';
import './messages';
import { PresenceBadge } from './PresenceBadge';
import { agentKeys, presences, useAgents, type AgentProfile, type Presence } from './queries';

function Tags({ values, label = (value) => value }: { values: string[]; label?: (value: string) => string }) {
  const { t } = useTranslation('agents');
  if (!values.length) return <Typography.Text type="secondary">{t('none')}</Typography.Text>;
  return (
    <Space size={[0, 4]} wrap>
      {values.map((value) => (
        <Tag key={value}>{label(value)}</Tag>
      ))}
    </Space>
  );
}

/** A supervisor sets someone's presence, e.g. for an agent who left without signing off. */
function PresenceSelect({ agent }: { agent: AgentProfile }) {
  const { t } = useTranslation('agents');
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const change = useMutation({
    mutationFn: (presence: Presence) => put<AgentProfile>(`/agents/${agent.userId}/presence`, { presence }),
    onSuccess: (_, presence) => {
      void message.success(t('presenceSet', { name: agent.name, presence: t(`presence.${presence}`, { ns: 'common' }) }));
      void queryClient.invalidateQueries({ queryKey: agentKeys.all });
    },
    onError: (error) => void message.error(error.message),
  });
  return (
    <Select<Presence>
      aria-label={t('presenceOf', { name: agent.name })}
      size="small"
      style={{ width: 120 }}
      value={agent.presence}
      loading={change.isPending}
      onChange={(presence) => change.mutate(presence)}
      options={presences.map((presence) => ({ value: presence, label: <PresenceBadge presence={presence} /> }))}
    />
  );
}

export default function AgentsPage() {
  const { t } = useTranslation('agents');
  const agents = useAgents();
  const teamName = useTeamName();
  const [search, setSearch] = useState('');
  const deferredSearch = useDeferredValue(search.trim().toLowerCase());
  const [editing, setEditing] = useState<ProfileTarget>();
  const [adding, setAdding] = useState(false);
  useLiveRefresh([agentKeys.all]);

  const rows = useMemo(
    () =>
      (agents.data ?? []).filter(
        (agent) =>
          !deferredSearch ||
          [agent.name, agent.email, ...agent.skills, ...agent.teamIds.map(teamName)].some((text) => text.toLowerCase().includes(deferredSearch)),
      ),
    [agents.data, deferredSearch, teamName],
  );

  return (
    <Card
      title={t('title')}
      extra={
        <Button type="primary" icon={<PlusOutlined />} onClick={() => setAdding(true)}>
          {t('add')}
        </Button>
      }
    >
      <Typography.Paragraph type="secondary">{t('intro')}</Typography.Paragraph>
      <Input.Search allowClear aria-label={t('search')} placeholder={t('search')} value={search} onChange={(event) => setSearch(event.target.value)} style={{ maxWidth: 320, marginBottom: 16 }} />
      <Table<AgentProfile>
        rowKey="userId"
        size="middle"
        loading={agents.isLoading}
        dataSource={rows}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
        scroll={{ x: 1000 }}
        columns={[
          {
            title: t('name'),
            key: 'name',
            fixed: 'left',
            width: 200,
            render: (_, agent) => (
              <Space orientation="vertical" size={0}>
                <Typography.Text strong>{agent.name}</Typography.Text>
                <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                  {agent.email}
                </Typography.Text>
              </Space>
            ),
          },
          { title: t('presence'), key: 'presence', width: 140, render: (_, agent) => <PresenceSelect agent={agent} /> },
          { title: t('load'), key: 'load', width: 170, render: (_, agent) => <LoadBar active={agent.activeCount} capacity={agent.capacity} /> },
          { title: t('skills'), key: 'skills', render: (_, agent) => <Tags values={agent.skills} /> },
          { title: t('languages'), key: 'languages', width: 120, render: (_, agent) => <Tags values={agent.languages} /> },
          { title: t('teams'), key: 'teams', render: (_, agent) => <Tags values={agent.teamIds} label={teamName} /> },
          {
            title: t('actions'),
            key: 'actions',
            width: 100,
            render: (_, agent) => (
              <Button size="small" icon={<EditOutlined />} aria-label={t('editOf', { name: agent.name })} onClick={() => setEditing({ userId: agent.userId, name: agent.name, profile: agent })}>
                {t('edit')}
              </Button>
            ),
          },
        ]}
      />
      <AddProfileModal
        open={adding}
        existing={new Set((agents.data ?? []).map((agent) => agent.userId))}
        onClose={() => setAdding(false)}
        onPick={(target) => {
          setAdding(false);
          setEditing(target);
        }}
      />
      <AgentDrawer target={editing} onClose={() => setEditing(undefined)} />
    </Card>
  );
}
