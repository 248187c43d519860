import { ArrowDownOutlined, ArrowUpOutlined, DeleteOutlined, EditOutlined, PlusOutlined } from '@ant-design/icons';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { App, Button, Popconfirm, Space, Switch, Table, Tag, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { del, patch } from '../api/client';
import { useChannelTypeLabel } from '../shared/channel-types';
import { useTeamName } from '../teams/queries';
import './messages';
import { routingKeys, useRules, type RoutingRule } from './queries';
import { RuleDrawer } from './RuleDrawer';

/** A rule's conditions and actions as short tags, so the list reads like the rule. */
function useRuleSummary() {
  const { t } = useTranslation('routing');
  const channelTypeLabel = useChannelTypeLabel();
  const teamName = useTeamName();
  return {
    conditions(rule: RoutingRule) {
      const c = rule.conditions;
      const parts = [
        c.channelTypes && `${t('summary.channelTypes')}: ${c.channelTypes.map(channelTypeLabel).join(', ')}`,
        c.keywords && `${t('summary.keywords')}: ${c.keywords.join(', ')}`,
        c.languages && `${t('summary.languages')}: ${c.languages.join(', ')}`,
        c.tiers && `${t('summary.tiers')}: ${c.tiers.join(', ')}`,
        c.attributes && `${t('summary.attributes')}: ${Object.entries(c.attributes).map(([key, value]) => `${key}=${String(value)}`).join(', ')}`,
        c.timeOfDay &&
          `${t('summary.timeOfDay')}: ${c.timeOfDay.from}–${c.timeOfDay.to}${c.timeOfDay.days ? ` (${c.timeOfDay.days.map((day) => t(`weekdays.${day}`)).join(' ')})` : ''}`,
      ].filter((part): part is string => !!part);
      return parts.length ? parts : [t('anyConversation')];
    },
    actions(rule: RoutingRule) {
      const a = rule.actions;
      return [
        a.teamId && `${t('summary.team')}: ${teamName(a.teamId)}`,
        a.requiredSkills && `${t('summary.requiredSkills')}: ${a.requiredSkills.join(', ')}`,
        a.priority !== undefined && `${t('summary.priority')}: ${t(`priorities.${a.priority}`)}`,
        a.slaPolicy && `${t('summary.slaPolicy')}: ${a.slaPolicy}`,
      ].filter((part): part is string => !!part);
    },
  };
}

const tagList = (parts: string[], color?: string) => (
  <Space size={[0, 4]} wrap>
    {parts.map((part) => (
      <Tag key={part} color={color} style={{ whiteSpace: 'normal' }}>
        {part}
      </Tag>
    ))}
  </Space>
);

export function RulesTable({ editable }: { editable: boolean }) {
  const { t } = useTranslation('routing');
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const rules = useRules();
  const summary = useRuleSummary();
  const [drawer, setDrawer] = useState<{ rule?: RoutingRule }>();
  const refresh = () => queryClient.invalidateQueries({ queryKey: routingKeys.rules });
  const fail = (error: Error) => void message.error(error.message);

  const toggle = useMutation({
    mutationFn: ({ rule, enabled }: { rule: RoutingRule; enabled: boolean }) => patch(`/routing/rules/${rule.id}`, { enabled }),
    onSettled: refresh,
    onError: fail,
  });
  const remove = useMutation({
    mutationFn: (rule: RoutingRule) => del(`/routing/rules/${rule.id}`),
    onSuccess: () => void message.success(t('deleted')),
    onSettled: refresh,
    onError: fail,
  });
  // Moving renumbers the whole list 0..n-1, so rules that share a position get distinct ones too.
  const move = useMutation({
    mutationFn: async ({ index, by }: { index: number; by: -1 | 1 }) => {
      const order = [...(rules.data ?? [])];
      const [rule] = order.splice(index, 1);
      order.splice(index + by, 0, rule!);
      await Promise.all(order.map((r, position) => (r.position === position ? undefined : patch(`/routing/rules/${r.id}`, { position }))));
    },
    onSuccess: () => void message.success(t('reordered')),
    onSettled: refresh,
    onError: fail,
  });
  const count = rules.data?.length ?? 0;

  return (
    <>
      <Space style={{ justifyContent: 'space-between', width: '100%', marginBottom: 16 }} wrap>
        <Typography.Text type="secondary">
          {t('rulesIntro')} {!editable && t('adminOnly')}
        </Typography.Text>
        {editable && (
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setDrawer({})}>
            {t('create')}
          </Button>
        )}
      </Space>
      <Table<RoutingRule>
        rowKey="id"
        size="middle"
        loading={rules.isLoading}
        dataSource={rules.data}
        pagination={false}
        scroll={{ x: 900 }}
        columns={[
          {
            title: t('order'),
            key: 'order',
            width: editable ? 110 : 70,
            render: (_, rule, index) => (
              <Space size={4}>
                <Typography.Text strong>{index + 1}</Typography.Text>
                {editable && (
                  <>
                    <Button size="small" type="text" icon={<ArrowUpOutlined />} aria-label={t('moveUp', { name: rule.name })} disabled={index === 0 || move.isPending} onClick={() => move.mutate({ index, by: -1 })} />
                    <Button size="small" type="text" icon={<ArrowDownOutlined />} aria-label={t('moveDown', { name: rule.name })} disabled={index === count - 1 || move.isPending} onClick={() => move.mutate({ index, by: 1 })} />
                  </>
                )}
              </Space>
            ),
          },
          { title: t('name'), dataIndex: 'name', width: 200 },
          {
            title: t('enabled'),
            key: 'enabled',
            width: 90,
            render: (_, rule) => (
              <Switch size="small" checked={rule.enabled} disabled={!editable} loading={toggle.isPending && toggle.variables?.rule.id === rule.id} aria-label={`${t('enabled')} ${rule.name}`} onChange={(enabled) => toggle.mutate({ rule, enabled })} />
            ),
          },
          { title: t('conditions'), key: 'conditions', render: (_, rule) => tagList(summary.conditions(rule)) },
          { title: t('actions'), key: 'actions', render: (_, rule) => tagList(summary.actions(rule), 'blue') },
          ...(editable
            ? [
                {
                  title: t('operations'),
                  key: 'operations',
                  width: 110,
                  render: (_: unknown, rule: RoutingRule) => (
                    <Space size={4}>
                      <Button size="small" icon={<EditOutlined />} aria-label={t('editOf', { name: rule.name })} onClick={() => setDrawer({ rule })} />
                      <Popconfirm
                        title={t('deleteConfirm', { name: rule.name })}
                        okText={t('actions.delete', { ns: 'common' })}
                        cancelText={t('actions.cancel', { ns: 'common' })}
                        okButtonProps={{ danger: true }}
                        onConfirm={() => remove.mutateAsync(rule)}
                      >
                        <Button size="small" danger icon={<DeleteOutlined />} aria-label={t('deleteOf', { name: rule.name })} />
                      </Popconfirm>
                    </Space>
                  ),
                },
              ]
            : []),
        ]}
      />
      <RuleDrawer open={!!drawer} rule={drawer?.rule} onClose={() => setDrawer(undefined)} />
    </>
  );
}
