import { PlusOutlined, StopOutlined } from '@ant-design/icons';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Form, Input, Modal, Popconfirm, Select, Space, Switch, Table, Tag, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { post } from '../api/client';
import { CopyButton } from '../shared/CopyButton';
import { formatTime, fromNow } from '../shared/time';
import { userKeys, useTokens, useUsers, type ApiToken } from './api';

function When({ at, never }: { at: string | null; never: string }) {
  return at ? <span title={formatTime(at)}>{fromNow(at)}</span> : <Typography.Text type="secondary">{never}</Typography.Text>;
}

function CreateTokenModal({ onCreated, onClose }: { onCreated(token: string): void; onClose(): void }) {
  const { t } = useTranslation('users');
  const { t: common } = useTranslation();
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const users = useUsers();
  const [form] = Form.useForm<{ userId: string; name: string }>();
  const create = useMutation({
    mutationFn: (values: { userId: string; name: string }) => post<ApiToken & { token: string }>('/api-tokens', values),
    onSuccess: (created) => {
      void queryClient.invalidateQueries({ queryKey: userKeys.tokens });
      onCreated(created.token);
    },
    onError: (error) => void message.error(error.message),
  });
  return (
    <Modal
      open
      title={t('tokens.add')}
      onCancel={onClose}
      onOk={() => form.submit()}
      okText={common('actions.create')}
      cancelText={common('actions.cancel')}
      confirmLoading={create.isPending}
      destroyOnHidden
    >
      <Form form={form} layout="vertical" onFinish={(values) => create.mutate(values)} disabled={create.isPending}>
        <Form.Item name="name" label={t('tokens.name')} extra={t('tokens.nameHelp')} rules={[{ required: true, whitespace: true }, { max: 200 }]}>
          <Input autoComplete="off" />
        </Form.Item>
        <Form.Item name="userId" label={t('tokens.user')} extra={t('tokens.userHelp')} rules={[{ required: true }]}>
          <Select
            showSearch={{ optionFilterProp: 'label' }}
            loading={users.isLoading}
            options={users.data
              ?.filter((user) => !user.disabled)
              .map((user) => ({ value: user.id, label: `${user.name} <${user.email}> · ${common(`roles.${user.role}`)}` }))}
          />
        </Form.Item>
      </Form>
    </Modal>
  );
}

/** The new token, this once: the hub keeps only its hash. */
function NewTokenModal({ token, onClose }: { token: string; onClose(): void }) {
  const { t } = useTranslation('users');
  return (
    <Modal
      open
      title={t('tokens.createdTitle')}
      onCancel={onClose}
      mask={{ closable: false }}
      footer={
        <Button type="primary" onClick={onClose}>
          {t('tokens.done')}
        </Button>
      }
    >
      <Alert type="warning" showIcon title={t('tokens.createdWarning')} style={{ marginBottom: 16 }} />
      <Space.Compact block>
        <Input aria-label={t('tokens.token')} value={token} readOnly spellCheck={false} style={{ fontFamily: 'monospace' }} onFocus={(event) => event.target.select()} />
        <CopyButton value={token} label={t('tokens.copy')} text />
      </Space.Compact>
    </Modal>
  );
}

export function TokensTab() {
  const { t } = useTranslation('users');
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const tokens = useTokens();
  const [creating, setCreating] = useState(false);
  const [shown, setShown] = useState<string>();
  const [showRevoked, setShowRevoked] = useState(false);
  const revoke = useMutation({
    mutationFn: (token: ApiToken) => post<ApiToken>(`/api-tokens/${token.id}/revoke`),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: userKeys.tokens });
      void message.success(t('tokens.revokedDone'));
    },
    onError: (error) => void message.error(error.message),
  });
  const rows = tokens.data?.filter((token) => showRevoked || !token.revokedAt);

  return (
    <>
      <Space style={{ marginBottom: 16 }} wrap size="large">
        <Button type="primary" icon={<PlusOutlined />} onClick={() => setCreating(true)}>
          {t('tokens.add')}
        </Button>
        <Space>
          <Switch id="show-revoked" checked={showRevoked} onChange={setShowRevoked} />
          <label htmlFor="show-revoked">{t('tokens.filterRevoked')}</label>
        </Space>
      </Space>
      <Table<ApiToken>
        rowKey="id"
        loading={tokens.isLoading}
        dataSource={rows}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
        scroll={{ x: 860 }}
        columns={[
          { key: 'name', title: t('tokens.name'), dataIndex: 'name' },
          { key: 'user', title: t('tokens.user'), dataIndex: 'userEmail' },
          { key: 'created', title: t('tokens.created'), width: 140, render: (_, token) => <When at={token.createdAt} never="" /> },
          { key: 'lastUsed', title: t('tokens.lastUsed'), width: 140, render: (_, token) => <When at={token.lastUsedAt} never={t('tokens.neverUsed')} /> },
          {
            key: 'status',
            title: t('tokens.status'),
            width: 120,
            render: (_, token) =>
              token.revokedAt ? (
                <Tag title={t('tokens.revokedAt', { at: formatTime(token.revokedAt) })}>{t('tokens.revoked')}</Tag>
              ) : (
                <Tag color="success">{t('tokens.active')}</Tag>
              ),
          },
          {
            key: 'actions',
            title: t('tokens.actions'),
            width: 120,
            render: (_, token) =>
              !token.revokedAt && (
                <Popconfirm title={t('tokens.revokeConfirm', { name: token.name })} onConfirm={() => revoke.mutate(token)} okButtonProps={{ danger: true }}>
                  <Button size="small" danger icon={<StopOutlined />} aria-label={`${t('tokens.revoke')} ${token.name}`}>
                    {t('tokens.revoke')}
                  </Button>
                </Popconfirm>
              ),
          },
        ]}
      />
      {creating && (
        <CreateTokenModal
          onClose={() => setCreating(false)}
          onCreated={(token) => {
            setCreating(false);
            setShown(token);
          }}
        />
      )}
      {shown && <NewTokenModal token={shown} onClose={() => setShown(undefined)} />}
    </>
  );
}
