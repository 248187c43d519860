import { EditOutlined, PlusOutlined } from '@ant-design/icons';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { App, Button, Card, Form, Input, Modal, Table, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { patch, post } from '../api/client';
import { useAuth } from '../auth/AuthProvider';
import { useAgents } from '../agents/queries';
import { formatTime } from '../shared/time';
import './messages';
import { teamKeys, useTeams, type Team } from './queries';

/** Creating and renaming ask for the same thing, a name; `team` set means renaming it. */
function TeamNameModal({ team, open, onClose }: { team?: Team; open: boolean; onClose: () => void }) {
  const { t } = useTranslation('teams');
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [form] = Form.useForm<{ name: string }>();
  const save = useMutation({
    mutationFn: ({ name }: { name: string }) => (team ? patch<Team>(`/teams/${team.id}`, { name }) : post<Team>('/teams', { name })),
    onSuccess: () => {
      void message.success(team ? t('renamed') : t('created'));
      void queryClient.invalidateQueries({ queryKey: teamKeys.all });
      onClose();
    },
    onError: (error) => void message.error(error.message),
  });
  return (
    <Modal
      open={open}
      title={team ? t('renameOf', { name: team.name }) : t('create')}
      onCancel={onClose}
      onOk={() => form.submit()}
      okText={t('actions.save', { ns: 'common' })}
      cancelText={t('actions.cancel', { ns: 'common' })}
      confirmLoading={save.isPending}
      destroyOnHidden
    >
      <Form form={form} layout="vertical" onFinish={(values) => save.mutate(values)} initialValues={{ name: team?.name }} preserve={false}>
        <Form.Item name="name" label={t('name')} rules={[{ required: true, whitespace: true, message: t('nameRequired') }, { max: 200 }]}>
          <Input autoFocus maxLength={200} />
        </Form.Item>
      </Form>
    </Modal>
  );
}

export default function TeamsPage() {
  const { t } = useTranslation('teams');
  const { can } = useAuth();
  const teams = useTeams();
  const agents = useAgents();
  const [editing, setEditing] = useState<{ team?: Team } | undefined>();
  const isAdmin = can('admin');
  const members = (teamId: string) => agents.data?.filter((agent) => agent.teamIds.includes(teamId)).length;

  return (
    <Card
      title={t('title')}
      extra={
        isAdmin && (
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing({})}>
            {t('create')}
          </Button>
        )
      }
    >
      <Typography.Paragraph type="secondary">
        {t('intro')} {!isAdmin && t('adminOnly')}
      </Typography.Paragraph>
      <Table<Team>
        rowKey="id"
        size="middle"
        loading={teams.isLoading}
        dataSource={teams.data}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
        scroll={{ x: 560 }}
        columns={[
          { title: t('name'), dataIndex: 'name' },
          { title: t('members'), key: 'members', width: 120, render: (_, team) => members(team.id) ?? '' },
          { title: t('createdAt'), dataIndex: 'createdAt', width: 200, render: (at: string) => formatTime(at) },
          ...(isAdmin
            ? [
                {
                  title: t('actions'),
                  key: 'actions',
                  width: 120,
                  render: (_: unknown, team: Team) => (
                    <Button size="small" icon={<EditOutlined />} onClick={() => setEditing({ team })} aria-label={`${t('rename')} ${team.name}`}>
                      {t('rename')}
                    </Button>
                  ),
                },
              ]
            : []),
        ]}
      />
      <TeamNameModal open={!!editing} team={editing?.team} onClose={() => setEditing(undefined)} />
    </Card>
  );
}
