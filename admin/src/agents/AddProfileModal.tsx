import { useQuery } from '@tanstack/react-query';
import { Form, Input, Modal, Select, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { get } from '../api/client';
import type { Role } from '../api/types';
import type { ProfileTarget } from './AgentDrawer';
import './messages';

interface UserRow {
  id: string;
  email: string;
  name: string;
  role: Role;
  disabled: boolean;
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Picks a user without an agent profile. Only admins may list users (GET /users); a supervisor,
 * who may still give profiles, enters the user's id instead.
 */
export function AddProfileModal({ open, existing, onClose, onPick }: { open: boolean; existing: Set<string>; onClose: () => void; onPick: (target: ProfileTarget) => void }) {
  const { t } = useTranslation('agents');
  const [form] = Form.useForm<{ userId: string }>();
  const users = useQuery({
    queryKey: ['agents', 'candidate-users'],
    queryFn: async () => (await get<{ items: UserRow[] }>('/users')).items,
    enabled: open,
    retry: false,
  });
  const candidates = (users.data ?? []).filter((user) => !user.disabled && user.role !== 'marketer' && !existing.has(user.id));
  const canList = !users.isError;

  return (
    <Modal
      open={open}
      title={t('addTitle')}
      onCancel={onClose}
      onOk={() => form.submit()}
      okText={t('next')}
      cancelText={t('actions.cancel', { ns: 'common' })}
      destroyOnHidden
    >
      <Form
        form={form}
        layout="vertical"
        preserve={false}
        onFinish={({ userId }) => {
          const user = candidates.find((candidate) => candidate.id === userId);
          onPick({ userId: userId.trim(), name: user ? `${user.name} <${user.email}>` : userId.trim() });
        }}
      >
        {canList ? (
          <Form.Item name="userId" label={t('user')} rules={[{ required: true, message: t('userRequired') }]} extra={users.isSuccess && !candidates.length ? t('noUsersLeft') : undefined}>
            <Select
              showSearch={{ optionFilterProp: 'label' }}
              loading={users.isLoading}
              options={candidates.map((user) => ({ value: user.id, label: `${user.name} <${user.email}> · ${t(`roles.${user.role}`, { ns: 'common' })}` }))}
            />
          </Form.Item>
        ) : (
          <>
            <Typography.Paragraph type="secondary">{t('userIdHint')}</Typography.Paragraph>
            <Form.Item name="userId" label={t('userId')} rules={[{ required: true, pattern: uuid, message: t('userIdInvalid') }]}>
              <Input autoFocus />
            </Form.Item>
          </>
        )}
      </Form>
    </Modal>
  );
}
