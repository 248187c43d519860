import { LockOutlined, MailOutlined } from '@ant-design/icons';
import { Alert, Button, Card, Form, Input, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api/client';
import { LanguageSwitch } from '../app/LanguageSwitch';
import { useAuth } from './AuthProvider';

export function LoginPage() {
  const { t } = useTranslation();
  const { signIn, expired } = useAuth();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  async function submit(values: { email: string; password: string }) {
    setBusy(true);
    setError(undefined);
    try {
      await signIn(values.email.trim(), values.password);
    } catch (caught) {
      if (caught instanceof ApiError && caught.status === 429) {
        setError(t('login.locked', { minutes: Math.max(1, Math.ceil((caught.retryAfterSeconds ?? 60) / 60)) }));
      } else if (caught instanceof ApiError && caught.status === 401) {
        setError(t('login.failed'));
      } else {
        setError(caught instanceof Error ? caught.message : String(caught));
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="login-screen">
      <Card className="login-card">
        <div className="login-header">
          <Typography.Title level={3}>{t('login.title')}</Typography.Title>
          <LanguageSwitch />
        </div>
        {expired && !error && <Alert type="info" showIcon title={t('sessionExpired')} className="login-alert" />}
        {error && <Alert type="error" showIcon title={error} role="alert" className="login-alert" />}
        <Form layout="vertical" onFinish={submit} requiredMark={false} disabled={busy}>
          <Form.Item name="email" label={t('login.email')} rules={[{ required: true, message: t('login.emailRequired') }]}>
            <Input prefix={<MailOutlined />} type="email" autoComplete="username" autoFocus size="large" />
          </Form.Item>
          <Form.Item name="password" label={t('login.password')} rules={[{ required: true, message: t('login.passwordRequired') }]}>
            <Input.Password prefix={<LockOutlined />} autoComplete="current-password" size="large" />
          </Form.Item>
          <Button type="primary" htmlType="submit" block size="large" loading={busy}>
            {t('login.submit')}
          </Button>
        </Form>
      </Card>
    </main>
  );
}
