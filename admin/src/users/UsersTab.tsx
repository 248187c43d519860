import { EditOutlined, KeyOutlined, PlusOutlined } from '@ant-design/icons';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { App, Button, Form, Input, Modal, Popconfirm, Select, Space, Table, Tag, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { patch, post } from '../api/client';
import { useUser } from '../auth/AuthProvider';
import { formatTime, fromNow } from '../shared/time';
import { roles, userKeys, useUsers, type User } from './api';

const passwordRules = (message: string) => [{ required: true }, { min: 12, message }];

type Editing = { mode: 'create' } | { mode: 'edit'; user: User } | { mode: 'password'; user: User } | undefined;

/** Create, edit and set a password in one modal: the form differs only in which fields it shows. */
function UserModal({ editing, onClose }: { editing: NonNullable<Editing>; onClose(): void }) {
  const { t } = useTranslation('users');
  const { t: common } = useTranslation();
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [form] = Form.useForm();
  const save = useMutation({
    mutationFn: (values: Record<string, string>) => {
      if (editing.mode === 'create') return post<User>('/users', { ...values, name: values.name?.trim() || undefined, password: values.password || undefined });
      if (editing.mode === 'edit') return patch<User>(`/users/${editing.user.id}`, values);
      return post<User>(`/users/${editing.user.id}/password`, values);
    },
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: userKeys.users });
      void message.success(editing.mode === 'create' ? t('users.created') : editing.mode === 'edit' ? t('users.saved') : t('users.passwordSet'));
      onClose();
    },
    onError: (error) => void message.error(error.message),
  });
  const title =
    editing.mode === 'create'
      ? t('users.add')
      : editing.mode === 'edit'
        ? t('users.editTitle', { email: editing.user.email })
        : t('users.setPasswordTitle', { email: editing.user.email });
  const initial = editing.mode === 'edit' ? { name: editing.user.name, role: editing.user.role } : editing.mode === 'create' ? { role: 'agent' } : {};

  return (
    <Modal
      open
      title={title}
      onCancel={onClose}
      onOk={() => form.submit()}
      okText={common('actions.save')}
      cancelText={common('actions.cancel')}
      confirmLoading={save.isPending}
      destroyOnHidden
    >
      <Form form={form} layout="vertical" initialValues={initial} onFinish={(values) => save.mutate(values)} disabled={save.isPending}>
        {editing.mode === 'create' && (
          <Form.Item name="email" label={t('users.email')} rules={[{ required: true }, { type: 'email' }]}>
            <Input autoComplete="off" />
          </Form.Item>
        )}
        {editing.mode !== 'password' && (
          <>
            <Form.Item name="name" label={t('users.name')} rules={[{ required: editing.mode === 'edit', whitespace: true }, { max: 200 }]}>
              <Input autoComplete="off" />
            </Form.Item>
            <Form.Item name="role" label={t('users.role')} rules={[{ required: true }]}>
              <Select options={roles.map((role) => ({ value: role, label: common(`roles.${role}`) }))} />
            </Form.Item>
          </>
        )}
        {editing.mode === 'create' && (
          <Form.Item name="password" label={t('users.password')} extra={t('users.passwordHelp')} rules={[{ min: 12, message: t('users.tooShort') }]}>
            <Input.Password autoComplete="new-password" />
          </Form.Item>
        )}
        {editing.mode === 'password' && (
          <Form.Item name="password" label={t('users.newPassword')} extra={t('users.newPasswordHelp')} rules={passwordRules(t('users.tooShort'))}>
            <Input.Password autoComplete="new-password" />
          </Form.Item>
        )}
      </Form>
    </Modal>
  );
}

export function UsersTab() {
  const { t } = useTranslation('users');
  const { t: common } = useTranslation();
  const { message } = App.useApp();
  const me = useUser();
  const queryClient = useQueryClient();
  const users = useUsers();
  const [editing, setEditing] = useState<Editing>();
  const toggle = useMutation({
    mutationFn: (user: User) => patch<User>(`/users/${user.id}`, { disabled: !user.disabled }),
    onSuccess: (user) => {
      void queryClient.invalidateQueries({ queryKey: userKeys.users });
      void message.success(user.disabled ? t('users.disabled') : t('users.enabled'));
    },
    onError: (error) => void message.error(error.message),
  });

  return (
    <>
      <div style={{ marginBottom: 16 }}>
        <Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing({ mode: 'create' })}>
          {t('users.add')}
        </Button>
      </div>
      <Table<User>
        rowKey="id"
        loading={users.isLoading}
        dataSource={users.data}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
        scroll={{ x: 900 }}
        columns={[
          { key: 'email', title: t('users.email'), dataIndex: 'email', sorter: (a, b) => a.email.localeCompare(b.email) },
          {
            key: 'name',
            title: t('users.name'),
            render: (_, user) => (
              <>
                {user.name} {user.id === me.id && <Typography.Text type="secondary">{t('users.you')}</Typography.Text>}
              </>
            ),
          },
          {
            key: 'role',
            title: t('users.role'),
            width: 110,
            render: (_, user) => <Tag color={user.role === 'admin' ? 'red' : undefined}>{common(`roles.${user.role}`)}</Tag>,
            filters: roles.map((role) => ({ value: role, text: common(`roles.${role}`) })),
            onFilter: (role, user) => user.role === role,
          },
          {
            key: 'status',
            title: t('users.status'),
            width: 100,
            render: (_, user) => <Tag color={user.disabled ? 'default' : 'success'}>{user.disabled ? common('status.disabled') : common('status.enabled')}</Tag>,
          },
          {
            key: 'lastSignIn',
            title: t('users.lastSignIn'),
            width: 170,
            render: (_, user) =>
              user.lastSignInAt ? <span title={formatTime(user.lastSignInAt)}>{fromNow(user.lastSignInAt)}</span> : <Typography.Text type="secondary">{t('users.never')}</Typography.Text>,
          },
          {
            key: 'actions',
            title: t('users.actions'),
            width: 300,
            render: (_, user) => (
              <Space size={4} wrap>
                <Button size="small" icon={<EditOutlined />} aria-label={`${t('users.edit')} ${user.email}`} onClick={() => setEditing({ mode: 'edit', user })}>
                  {t('users.edit')}
                </Button>
                <Button size="small" icon={<KeyOutlined />} aria-label={`${t('users.setPassword')} ${user.email}`} onClick={() => setEditing({ mode: 'password', user })}>
                  {t('users.setPassword')}
                </Button>
                {user.id !== me.id &&
                  (user.disabled ? (
                    <Button size="small" aria-label={`${t('users.enable')} ${user.email}`} onClick={() => toggle.mutate(user)}>
                      {t('users.enable')}
                    </Button>
                  ) : (
                    <Popconfirm title={t('users.disableConfirm', { email: user.email })} onConfirm={() => toggle.mutate(user)} okButtonProps={{ danger: true }}>
                      <Button size="small" danger aria-label={`${t('users.disable')} ${user.email}`}>
                        {t('users.disable')}
                      </Button>
                    </Popconfirm>
                  ))}
              </Space>
            ),
          },
        ]}
      />
      {editing && <UserModal editing={editing} onClose={() => setEditing(undefined)} />}
    </>
  );
}
