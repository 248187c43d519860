import { ReloadOutlined, RedoOutlined } from '@ant-design/icons';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Card, Segmented, Space, Table, Tooltip, Typography } from 'antd';
import { useSearchParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { get, post } from '../api/client';
import { useChannels } from '../channels/api';
import { ChannelBadge } from '../shared/channel-types';
import { formatTime, fromNow } from '../shared/time';
import './messages';

const statuses = ['dead', 'pending', 'processed'] as const;
type Status = (typeof statuses)[number];
/** The API's largest page; dead events are few, and an operator works from the newest. */
const limit = 200;

interface InboundEvent {
  id: string;
  channelId: string;
  dedupeKey: string;
  status: Status;
  attempts: number;
  error: string | null;
  receivedAt: string;
  processedAt: string | null;
}

function When({ at }: { at: string | null }) {
  return at ? <span title={formatTime(at)}>{fromNow(at)}</span> : null;
}

export default function DeadEventsPage() {
  const { t } = useTranslation('operations');
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [search, setSearch] = useSearchParams();
  const status = statuses.find((s) => s === search.get('status')) ?? 'dead';
  const events = useQuery({
    queryKey: ['inbound-events', status],
    queryFn: () => get<{ items: InboundEvent[] }>('/inbound-events', { status, limit }).then((page) => page.items),
    placeholderData: keepPreviousData,
  });
  const channels = useChannels();
  const channelOf = (id: string) => channels.data?.find((channel) => channel.id === id);
  const retry = useMutation({
    mutationFn: (event: InboundEvent) => post<{ requeued: boolean }>(`/inbound-events/${event.id}/retry`),
    onSuccess: ({ requeued }) => {
      void queryClient.invalidateQueries({ queryKey: ['inbound-events'] });
      if (requeued) void message.success(t('retried'));
      else void message.info(t('notRetried'));
    },
    onError: (error) => void message.error(error.message),
  });

  return (
    <Card
      title={
        <Typography.Title level={1} style={{ fontSize: 18, margin: 0 }}>
          {t('title')}
        </Typography.Title>
      }
      extra={
        <Button icon={<ReloadOutlined />} loading={events.isFetching} onClick={() => void events.refetch()}>
          {t('refresh')}
        </Button>
      }
    >
      <Typography.Paragraph type="secondary">{t('intro')}</Typography.Paragraph>
      <Space style={{ marginBottom: 16 }}>
        <Segmented<Status>
          aria-label={t('status')}
          value={status}
          onChange={(value) => setSearch({ status: value }, { replace: true })}
          options={statuses.map((value) => ({ value, label: t(`statuses.${value}`) }))}
        />
        {events.data?.length === limit && <Typography.Text type="secondary">{t('limited', { count: limit })}</Typography.Text>}
      </Space>
      <Table<InboundEvent>
        rowKey="id"
        loading={events.isLoading}
        dataSource={events.data}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
        scroll={{ x: 1000 }}
        columns={[
          {
            key: 'channel',
            title: t('channel'),
            width: 260,
            render: (_, event) => {
              const channel = channelOf(event.channelId);
              return channel ? (
                <Space size={6}>
                  <ChannelBadge type={channel.type} />
                  {channel.name}
                </Space>
              ) : (
                <Typography.Text type="secondary">{t('unknownChannel')}</Typography.Text>
              );
            },
          },
          {
            key: 'dedupeKey',
            title: t('dedupeKey'),
            render: (_, event) => (
              <Typography.Text code ellipsis={{ tooltip: event.dedupeKey }} style={{ maxWidth: 200 }}>
                {event.dedupeKey}
              </Typography.Text>
            ),
          },
          { key: 'attempts', title: t('attempts'), dataIndex: 'attempts', width: 110, align: 'right' },
          {
            key: 'error',
            title: t('error'),
            render: (_, event) =>
              event.error && (
                <Tooltip title={event.error}>
                  <Typography.Text type="danger" ellipsis style={{ maxWidth: 320 }}>
                    {event.error}
                  </Typography.Text>
                </Tooltip>
              ),
          },
          { key: 'received', title: t('received'), width: 150, render: (_, event) => <When at={event.receivedAt} /> },
          status === 'processed'
            ? { key: 'processed', title: t('processed'), width: 140, render: (_, event) => <When at={event.processedAt} /> }
            : {
                key: 'actions',
                title: t('actions'),
                width: 110,
                render: (_, event) =>
                  event.status === 'dead' && (
                    <Button
                      size="small"
                      icon={<RedoOutlined />}
                      loading={retry.isPending && retry.variables?.id === event.id}
                      aria-label={`${t('retry')} ${event.dedupeKey}`}
                      onClick={() => retry.mutate(event)}
                    >
                      {t('retry')}
                    </Button>
                  ),
              },
        ]}
      />
    </Card>
  );
}
