import { AppstoreOutlined, ApiOutlined, CommentOutlined, MailOutlined, MessageOutlined, WechatOutlined } from '@ant-design/icons';
import { Tag } from 'antd';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { registerMessages } from '../i18n';

export const channelTypes = ['api', 'sms_twilio', 'wechat', 'app', 'webchat', 'email'] as const;
export type ChannelType = (typeof channelTypes)[number];

registerMessages('channelTypes', {
  zh: { api: 'API', sms_twilio: '短信', wechat: '微信公众号', app: '手机银行 App', webchat: '网页在线客服', email: '邮件' },
  en: { api: 'API', sms_twilio: 'SMS', wechat: 'WeChat', app: 'Mobile app', webchat: 'Web chat', email: 'Email' },
});

const look: Record<ChannelType, { color: string; icon: ReactNode }> = {
  api: { color: 'geekblue', icon: <ApiOutlined /> },
  sms_twilio: { color: 'orange', icon: <MessageOutlined /> },
  wechat: { color: 'green', icon: <WechatOutlined /> },
  app: { color: 'purple', icon: <AppstoreOutlined /> },
  webchat: { color: 'blue', icon: <CommentOutlined /> },
  email: { color: 'gold', icon: <MailOutlined /> },
};

/** The channel's type as a coloured tag with its icon, the same on every screen. */
export function ChannelBadge({ type, name }: { type: string; name?: string }) {
  const { t } = useTranslation('channelTypes');
  const known = (channelTypes as readonly string[]).includes(type) ? look[type as ChannelType] : undefined;
  return (
    <Tag color={known?.color} icon={known?.icon} style={{ marginInlineEnd: 0 }}>
      {name ?? (known ? t(type) : type)}
    </Tag>
  );
}

export function useChannelTypeLabel() {
  const { t } = useTranslation('channelTypes');
  return (type: string) => ((channelTypes as readonly string[]).includes(type) ? t(type) : type);
}
