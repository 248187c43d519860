import { useMutation, useQueryClient } from '@tanstack/react-query';
import { App, Card, Form, Radio, Spin, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate } from 'react-router';
import { post } from '../api/client';
import { ChannelBadge } from '../shared/channel-types';
import { channelKeys, useChannelTypes, type Channel } from './api';
import { ChannelForm, type ChannelFormValues } from './ChannelForm';

export function NewChannel() {
  const { t } = useTranslation('channels');
  const { message } = App.useApp();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const types = useChannelTypes();
  const [type, setType] = useState('api');
  const create = useMutation({
    mutationFn: (values: ChannelFormValues) => post<Channel>('/channels', { type, ...values }),
    onSuccess: (channel) => {
      queryClient.setQueryData(channelKeys.one(channel.id), channel);
      void queryClient.invalidateQueries({ queryKey: channelKeys.all, exact: true });
      void message.success(t('create.created'));
      navigate(`/channels/${channel.id}`);
    },
  });
  const typeInfo = types.data?.items.find((item) => item.type === type);

  return (
    <Card
      title={
        <Typography.Title level={1} style={{ fontSize: 18, margin: 0 }}>
          {t('create.title')}
        </Typography.Title>
      }
      extra={<Link to="/channels">{t('back')}</Link>}
    >
      {!typeInfo ? (
        <Spin />
      ) : (
        <ChannelForm
          key={type}
          typeInfo={typeInfo}
          readOnly={false}
          submitting={create.isPending}
          submitText={t('create.submit')}
          onSubmit={(values) => create.mutateAsync(values)}
          before={
            <Form.Item label={t('create.type')} extra={t('create.typeHelp')} required>
              <Radio.Group
                value={type}
                onChange={(event) => setType(event.target.value as string)}
                options={types.data!.items.map((item) => ({ value: item.type, label: <ChannelBadge type={item.type} />, title: item.displayName }))}
              />
            </Form.Item>
          }
        />
      )}
    </Card>
  );
}
