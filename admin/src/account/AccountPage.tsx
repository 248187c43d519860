import { Button, Card, Descriptions, Form, Input, App } from 'antd';
import { useMutation } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { post } from '../api/client';
import { useUser } from '../auth/AuthProvider';

interface PasswordForm {
  currentPassword: string;
  newPassword: string;
  confirmPassword: string;
}

export default function AccountPage() {
  const { t } = useTranslation();
  const user = useUser();
  const { message } = App.useApp();
  const [form] = Form.useForm<PasswordForm>();
  const change = useMutation({
    mutationFn: ({ currentPassword, newPassword }: PasswordForm) => post('/auth/password', { currentPassword, newPassword }),
    onSuccess: () => {
      form.resetFields();
      void message.success(t('account.changed'));
    },
    onError: (error) => void message.error(error.message),
  });

  return (
    <Card title={t('account.title')} style={{ maxWidth: 560 }}>
      <Descriptions column={1} size="small" style={{ marginBottom: 24 }}>
        <Descriptions.Item label={t('login.email')}>{user.email}</Descriptions.Item>
        <Descriptions.Item label={t('signedInAs')}>
          {user.name} · {t(`roles.${user.role}`)}
        </Descriptions.Item>
      </Descriptions>
      <Form form={form} layout="vertical" onFinish={(values) => change.mutate(values)} disabled={change.isPending}>
        <Form.Item name="currentPassword" label={t('account.currentPassword')} rules={[{ required: true }]}>
          <Input.Password autoComplete="current-password" />
        </Form.Item>
        <Form.Item
          name="newPassword"
          label={t('account.newPassword')}
          extra={t('account.passwordHint')}
          rules={[{ required: true }, { min: 12, message: t('account.tooShort') }]}
        >
          <Input.Password autoComplete="new-password" />
        </Form.Item>
        <Form.Item
          name="confirmPassword"
          label={t('account.confirmPassword')}
          dependencies={['newPassword']}
          rules={[
            { required: true },
            ({ getFieldValue }) => ({
              validator: (_, value) => (!value || getFieldValue('newPassword') === value ? Promise.resolve() : Promise.reject(new Error(t('account.mismatch')))),
            }),
          ]}
        >
          <Input.Password autoComplete="new-password" />
        </Form.Item>
        <Button type="primary" htmlType="submit" loading={change.isPending}>
          {t('changePassword')}
        </Button>
      </Form>
    </Card>
  );
}
