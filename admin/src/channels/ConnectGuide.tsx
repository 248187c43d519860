import { Alert, Card, Input, Space, Typography } from 'antd';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { CopyButton } from '../shared/CopyButton';
import { hubBaseUrl, type Channel, type ChannelTypes } from './api';

/** A value to paste into the provider's console, with a button that copies it. */
function CopyField({ label, value, multiline }: { label: string; value: string; multiline?: boolean }) {
  const { t } = useTranslation('channels');
  return (
    <div style={{ marginBottom: 16 }}>
      <Typography.Text strong>{label}</Typography.Text>
      <Space.Compact block style={{ marginTop: 4, alignItems: 'flex-start' }}>
        {multiline ? (
          <Input.TextArea aria-label={label} value={value} readOnly autoSize spellCheck={false} style={{ fontFamily: 'monospace' }} />
        ) : (
          <Input aria-label={label} value={value} readOnly spellCheck={false} style={{ fontFamily: 'monospace' }} />
        )}
        <CopyButton value={value} label={t('connect.copy', { what: label })} text />
      </Space.Compact>
    </div>
  );
}

/** Numbered steps from the namespace's `connect.<type>.steps` (s1, s2, …). */
function Steps({ type }: { type: string }) {
  const { t } = useTranslation('channels');
  const steps = t(`connect.${type}.steps`, { returnObjects: true }) as Record<string, string> | string;
  if (typeof steps !== 'object') return null;
  return (
    <Typography>
      <ol style={{ paddingInlineStart: 20, marginBottom: 0 }}>
        {Object.values(steps).map((step) => (
          <li key={step} style={{ marginBottom: 6 }}>
            {step}
          </li>
        ))}
      </ol>
    </Typography>
  );
}

function Block({ title, children }: { title: string; children: ReactNode }) {
  return (
    <Card size="small" title={title} style={{ marginBottom: 16 }}>
      {children}
    </Card>
  );
}

/** Where the provider reaches this channel and what to set in the provider's console, per channel type. */
export function ConnectGuide({ channel, types }: { channel: Channel; types: ChannelTypes | undefined }) {
  const { t } = useTranslation('channels');
  const config = channel.config;
  // An SMS channel behind its own proxy is reached at its own base URL (docs/sms-twilio.md).
  const base = (typeof config.publicBaseUrl === 'string' ? config.publicBaseUrl.replace(/\/+$/, '') : undefined) ?? hubBaseUrl(types);
  const webhook = `${base}/webhooks/${channel.type}/${channel.id}`;
  const notes = (
    <>
      {!channel.enabled && <Alert type="warning" showIcon title={t('connect.disabled')} style={{ marginBottom: 16 }} />}
      {types && !types.publicBaseUrl && <Alert type="info" showIcon title={t('connect.noPublicBase')} style={{ marginBottom: 16 }} />}
    </>
  );
  const intro = <Typography.Paragraph>{t(`connect.${channel.type}.intro`, { defaultValue: '' })}</Typography.Paragraph>;

  switch (channel.type) {
    case 'api':
      return (
        <>
          {notes}
          {intro}
          <CopyField label={t('connect.webhookUrl')} value={webhook} />
          <CopyField label={t('connect.api.header')} value="X-Hub-Signature-256" />
          <Typography.Paragraph type="secondary" style={{ marginTop: -8 }}>
            <code>X-Hub-Signature-256: {t('connect.api.headerValue')}</code>
          </Typography.Paragraph>
          <Steps type="api" />
        </>
      );
    case 'sms_twilio':
      return (
        <>
          {notes}
          {intro}
          <CopyField label={t('connect.webhookUrl')} value={webhook} />
          <CopyField label={t('connect.statusUrl')} value={`${webhook}/status`} />
          <Steps type="sms_twilio" />
        </>
      );
    case 'wechat':
      return (
        <>
          {notes}
          {intro}
          <CopyField label={`${t('connect.webhookUrl')} (URL)`} value={webhook} />
          <Steps type="wechat" />
        </>
      );
    case 'webchat': {
      const snippet = `<script src="${hubBaseUrl(types)}/widget.js" data-channel="${channel.id}" async></script>`;
      return (
        <>
          {notes}
          {intro}
          <CopyField label={t('connect.webchat.snippet')} value={snippet} multiline />
          <Steps type="webchat" />
        </>
      );
    }
    case 'app':
      return (
        <>
          {notes}
          {intro}
          <CopyField label={t('connect.app.base')} value={`${hubBaseUrl(types)}/api/app/v1/channels/${channel.id}`} />
          <Steps type="app" />
        </>
      );
    case 'email': {
      const address = String(config.address ?? '');
      const seconds = Math.round(Number(config.imapPollIntervalMs ?? 60_000) / 1000);
      return (
        <>
          {notes}
          {intro}
          <Block title={t('connect.email.smtp')}>
            <Typography.Paragraph style={{ marginBottom: 0 }}>
              {types?.smtpPort ? t('connect.email.smtpText', { address, port: types.smtpPort }) : t('connect.email.smtpOff')}
            </Typography.Paragraph>
          </Block>
          <Block title={t('connect.email.imap')}>
            <Typography.Paragraph style={{ marginBottom: 0 }}>
              {config.imapHost
                ? t('connect.email.imapOn', { host: String(config.imapHost), mailbox: String(config.imapMailbox ?? 'INBOX'), seconds })
                : t('connect.email.imapOff')}
            </Typography.Paragraph>
          </Block>
          <Block title={t('connect.email.webhook')}>
            <Typography.Paragraph>{t('connect.email.webhookText')}</Typography.Paragraph>
            <CopyField label={t('connect.webhookUrl')} value={webhook} />
          </Block>
        </>
      );
    }
    default:
      return (
        <>
          {notes}
          <CopyField label={t('connect.webhookUrl')} value={webhook} />
        </>
      );
  }
}
