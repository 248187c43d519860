import { useMutation } from '@tanstack/react-query';
import { App, Badge, Form, Input, Modal, Radio, Select } from 'antd';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { post } from '../api/client';
import { useUser } from '../auth/AuthProvider';
import { useColleagues, useTeams } from './queries';
import type { Conversation } from './types';

const presenceColor: Record<string, string> = { online: '#52c41a', busy: '#faad14', away: '#8c8c8c', offline: '#d9d9d9' };

interface Values {
  target: 'agent' | 'team';
  agentId?: string;
  teamId?: string;
  note?: string;
}

/** Hands a conversation to a colleague (who must be online or busy with room) or to a team's queue, with a note. */
export function TransferModal({ conversation, open, onClose, onDone }: { conversation: Conversation; open: boolean; onClose(): void; onDone(updated: Conversation): void }) {
  const { t } = useTranslation('workspace');
  const { message } = App.useApp();
  const me = useUser();
  const [form] = Form.useForm<Values>();
  const [target, setTarget] = useState<Values['target']>('agent');
  const agents = useColleagues(open);
  const { refetch } = agents;
  // Presence changes by the minute: who can take the conversation is read again each time.
  useEffect(() => {
    if (open) void refetch();
  }, [open, refetch]);
  const teams = useTeams();
  const transfer = useMutation({
    mutationFn: (values: Values) =>
      post<Conversation>(`/conversations/${conversation.id}/transfer`, {
        agentId: values.target === 'agent' ? values.agentId : undefined,
        teamId: values.target === 'team' ? values.teamId : undefined,
        note: values.note?.trim() || undefined,
      }),
    onSuccess: (updated) => {
      void message.success(t('transfer.done'));
      form.resetFields();
      onDone(updated);
    },
    onError: (error) => void message.error(error.message),
  });

  return (
    <Modal
      open={open}
      title={t('transfer.title')}
      okText={t('transfer.submit')}
      cancelText={t('common:actions.cancel')}
      onCancel={onClose}
      onOk={() => form.submit()}
      confirmLoading={transfer.isPending}
      destroyOnHidden
    >
      <Form<Values> form={form} layout="vertical" initialValues={{ target: 'agent' }} onFinish={(values) => transfer.mutate(values)} onValuesChange={(changed) => changed.target && setTarget(changed.target)}>
        <Form.Item name="target" label={t('transfer.to')}>
          <Radio.Group
            optionType="button"
            options={[
              { value: 'agent', label: t('transfer.agent') },
              { value: 'team', label: t('transfer.team') },
            ]}
          />
        </Form.Item>
        {target === 'agent' ? (
          <Form.Item name="agentId" label={t('transfer.agent')} rules={[{ required: true, message: t('transfer.agentRequired') }]}>
            <Select
              showSearch={{ optionFilterProp: 'label' }}
              loading={agents.isLoading}
              options={(agents.data?.items ?? [])
                .filter((agent) => agent.userId !== me.id && agent.userId !== conversation.assigneeId)
                .map((agent) => ({
                  value: agent.userId,
                  // Plain text, so the option is named for screen readers; the dot shows presence at a glance.
                  label: `${agent.name ?? agent.userId} · ${t(`common:presence.${agent.presence}`)}${agent.capacity ? ` · ${agent.activeCount ?? 0}/${agent.capacity}` : ''}`,
                  presence: agent.presence,
                  disabled: agent.presence !== 'online' && agent.presence !== 'busy',
                }))}
              optionRender={(option) => <Badge color={presenceColor[option.data.presence]} text={option.label} />}
            />
          </Form.Item>
        ) : (
          <Form.Item name="teamId" label={t('transfer.team')} rules={[{ required: true, message: t('transfer.teamRequired') }]}>
            <Select showSearch={{ optionFilterProp: 'label' }} loading={teams.isLoading} options={(teams.data?.items ?? []).map((team) => ({ value: team.id, label: team.name }))} />
          </Form.Item>
        )}
        <Form.Item name="note" label={t('transfer.note')}>
          <Input.TextArea autoSize={{ minRows: 2, maxRows: 6 }} maxLength={2000} placeholder={t('transfer.notePlaceholder')} />
        </Form.Item>
      </Form>
    </Modal>
  );
}
