import { ApiOutlined, PoweroffOutlined } from '@ant-design/icons';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Card, Descriptions, Popconfirm, Result, Space, Spin, Tabs, Tag, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router';
import { ApiError, patch, post } from '../api/client';
import { ChannelBadge, useChannelTypeLabel } from '../shared/channel-types';
import { formatTime } from '../shared/time';
import { channelKeys, useChannel, useChannels, useChannelTypes, type Channel } from './api';
import { BotSettingsForm } from './BotSettingsForm';
import { ChannelError, ChannelHealthTime, EnabledTag } from './ChannelList';
import { ChannelForm, type ChannelFormValues } from './ChannelForm';
import { ConnectGuide } from './ConnectGuide';
import { useFieldText } from './SchemaFields';

const tabs = ['connect', 'settings', 'bot'] as const;

export function ChannelDetail({ channelId, canEdit }: { channelId: string; canEdit: boolean }) {
  const { t } = useTranslation('channels');
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const typeLabel = useChannelTypeLabel();
  const fieldText = useFieldText();
  const [search, setSearch] = useSearchParams();
  const channel = useChannel(channelId);
  const types = useChannelTypes();
  // Health is computed for the list; a hub whose single-channel answer lacks it still shows it here.
  const listed = useChannels().data?.find((item) => item.id === channelId);

  const stored = (saved: Channel) => {
    queryClient.setQueryData(channelKeys.one(saved.id), saved);
    void queryClient.invalidateQueries({ queryKey: channelKeys.all, exact: true });
  };
  const onError = (error: Error) => void message.error(error.message);
  const update = useMutation({
    mutationFn: (values: ChannelFormValues) => patch<Channel>(`/channels/${channelId}`, values),
    onSuccess: (saved) => {
      stored(saved);
      void message.success(t('form.saved'));
    },
  });
  const toggle = useMutation({
    mutationFn: (enable: boolean) => (enable ? patch<Channel>(`/channels/${channelId}`, { enabled: true }) : post<Channel>(`/channels/${channelId}/disable`)),
    onSuccess: (saved) => {
      stored(saved);
      void message.success(saved.enabled ? t('enable.done') : t('disable.done'));
    },
    onError,
  });
  const test = useMutation({ mutationFn: () => post<{ ok: boolean; message: string }>(`/channels/${channelId}/test`), onError });

  if (channel.isLoading) return <Spin className="page-spin" />;
  if (channel.error) {
    const status = channel.error instanceof ApiError && channel.error.status === 404 ? '404' : 'error';
    return <Result status={status} title={status === '404' ? '404' : undefined} subTitle={channel.error.message} extra={<Link to="/channels">{t('back')}</Link>} />;
  }
  const data = channel.data!;
  const lastInboundAt = data.lastInboundAt !== undefined ? data.lastInboundAt : listed?.lastInboundAt;
  const lastError = data.lastError !== undefined ? data.lastError : listed?.lastError;
  const typeInfo = types.data?.items.find((item) => item.type === data.type);
  const activeTab = tabs.find((tab) => tab === search.get('tab')) ?? 'connect';

  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      <Link to="/channels">← {t('back')}</Link>
      <Card>
        {/* A wrapping row rather than the card's title and extra: on a phone the actions would squeeze the name out. */}
        <div style={{ display: 'flex', flexWrap: 'wrap', justifyContent: 'space-between', alignItems: 'center', gap: 12, marginBottom: 16 }}>
          <Space wrap>
            <ChannelBadge type={data.type} />
            <Typography.Title level={1} style={{ fontSize: 18, margin: 0 }}>
              {data.name}
            </Typography.Title>
            <EnabledTag enabled={data.enabled} />
          </Space>
          {canEdit && (
            <Space wrap>
              {typeInfo?.testable && (
                <Button icon={<ApiOutlined />} loading={test.isPending} onClick={() => test.mutate()}>
                  {t('test.button')}
                </Button>
              )}
              {data.enabled ? (
                <Popconfirm title={t('disable.confirm')} onConfirm={() => toggle.mutate(false)} okButtonProps={{ danger: true }}>
                  <Button danger icon={<PoweroffOutlined />} loading={toggle.isPending}>
                    {t('disable.button')}
                  </Button>
                </Popconfirm>
              ) : (
                <Button icon={<PoweroffOutlined />} loading={toggle.isPending} onClick={() => toggle.mutate(true)}>
                  {t('enable.button')}
                </Button>
              )}
            </Space>
          )}
        </div>
        {test.data && (
          <Alert
            type={test.data.ok ? 'success' : 'error'}
            showIcon
            closable={{ onClose: () => test.reset() }}
            title={test.data.ok ? t('test.ok') : t('test.failed')}
            description={test.data.message}
            style={{ marginBottom: 16 }}
          />
        )}
        {!canEdit && <Alert type="info" showIcon title={t('readOnly')} style={{ marginBottom: 16 }} />}
        <Descriptions
          size="small"
          column={{ xs: 1, sm: 2, lg: 3 }}
          items={[
            { key: 'type', label: t('overview.type'), children: typeLabel(data.type) },
            { key: 'status', label: t('overview.status'), children: <EnabledTag enabled={data.enabled} /> },
            { key: 'created', label: t('overview.created'), children: formatTime(data.createdAt) },
            { key: 'lastInbound', label: t('overview.lastInbound'), children: <ChannelHealthTime at={lastInboundAt} /> },
            { key: 'lastError', label: t('overview.lastError'), children: <ChannelError error={lastError} /> },
            {
              key: 'secrets',
              label: t('overview.secrets'),
              children: (
                <Space size={[4, 4]} wrap>
                  {(typeInfo?.secretFields ?? data.secretsSet).map((field) => {
                    const isSet = data.secretsSet.includes(field);
                    return (
                      <Tag key={field} color={isSet ? 'green' : 'default'}>
                        {t('secret.label', { field: fieldText.label(field), state: isSet ? t('secret.set') : t('secret.notSet') })}
                      </Tag>
                    );
                  })}
                </Space>
              ),
            },
          ]}
        />
      </Card>
      <Card>
        <Tabs
          activeKey={activeTab}
          onChange={(key) => setSearch({ tab: key }, { replace: true })}
          items={[
            { key: 'connect', label: t('tabs.connect'), children: <ConnectGuide channel={data} types={types.data} /> },
            {
              key: 'settings',
              label: t('tabs.settings'),
              children: typeInfo ? (
                <ChannelForm
                  key={data.updatedAt}
                  typeInfo={typeInfo}
                  channel={data}
                  readOnly={!canEdit}
                  submitting={update.isPending}
                  submitText={t('form.save')}
                  onSubmit={(values) => update.mutateAsync(values)}
                />
              ) : (
                <Spin />
              ),
            },
            { key: 'bot', label: t('tabs.bot'), children: <BotSettingsForm channelId={channelId} readOnly={!canEdit} /> },
          ]}
        />
      </Card>
    </Space>
  );
}
