import { PlusOutlined } from '@ant-design/icons';
import { App, Button, Card, Table, Tag, Tooltip, Typography } from 'antd';
import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router';
import { ChannelBadge } from '../shared/channel-types';
import { formatTime, fromNow } from '../shared/time';
import { lastErrorText, useChannels, type Channel } from './api';

export function ChannelHealthTime({ at }: { at: string | null | undefined }) {
  const { t } = useTranslation('channels');
  if (!at) return <Typography.Text type="secondary">{t('never')}</Typography.Text>;
  return <span title={formatTime(at)}>{fromNow(at)}</span>;
}

export function ChannelError({ error }: { error: Channel['lastError'] }) {
  const { t } = useTranslation('channels');
  const text = lastErrorText(error);
  if (!text) return <Typography.Text type="secondary">{t('noError')}</Typography.Text>;
  return (
    <Tooltip title={text}>
      <Typography.Text type="danger" ellipsis style={{ maxWidth: 320 }}>
        {text}
      </Typography.Text>
    </Tooltip>
  );
}

export function EnabledTag({ enabled }: { enabled: boolean }) {
  const { t } = useTranslation();
  return <Tag color={enabled ? 'success' : 'default'}>{enabled ? t('status.enabled') : t('status.disabled')}</Tag>;
}

/** Every channel with its health at a glance: is it on, when did it last hear from customers, what last went wrong. */
export function ChannelList({ canEdit }: { canEdit: boolean }) {
  const { t } = useTranslation('channels');
  const { message } = App.useApp();
  const navigate = useNavigate();
  const channels = useChannels();
  useEffect(() => {
    if (channels.error) void message.error(channels.error.message);
  }, [channels.error, message]);

  return (
    <Card
      title={
        <Typography.Title level={1} style={{ fontSize: 18, margin: 0 }}>
          {t('title')}
        </Typography.Title>
      }
      extra={
        canEdit && (
          <Button type="primary" icon={<PlusOutlined />} onClick={() => navigate('/channels/new')}>
            {t('add')}
          </Button>
        )
      }
    >
      <Table<Channel>
        rowKey="id"
        loading={channels.isLoading}
        dataSource={channels.data}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
        scroll={{ x: 760 }}
        columns={[
          { key: 'type', title: t('columns.type'), width: 150, render: (_, channel) => <ChannelBadge type={channel.type} /> },
          {
            key: 'name',
            title: t('columns.name'),
            render: (_, channel) => <Link to={`/channels/${channel.id}`}>{channel.name}</Link>,
            sorter: (a, b) => a.name.localeCompare(b.name),
          },
          { key: 'status', title: t('columns.status'), width: 110, render: (_, channel) => <EnabledTag enabled={channel.enabled} /> },
          { key: 'lastInbound', title: t('columns.lastInbound'), width: 150, render: (_, channel) => <ChannelHealthTime at={channel.lastInboundAt} /> },
          { key: 'lastError', title: t('columns.lastError'), render: (_, channel) => <ChannelError error={channel.lastError} /> },
        ]}
      />
    </Card>
  );
}
