import { useMutation, useQueryClient } from '@tanstack/react-query';
import { App, Button, Divider, Form, Input, InputNumber, Radio, Select, Skeleton, Space, Switch, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { patch } from '../api/client';
import './messages';
import { priorities, routingKeys, useRoutingSettings, type RoutingSettings } from './queries';

/** The hub-wide routing settings (PATCH /routing/settings); supervisors may read them, admins change them. */
export function RoutingSettingsForm({ editable }: { editable: boolean }) {
  const { t } = useTranslation('routing');
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const settings = useRoutingSettings();
  const [form] = Form.useForm<RoutingSettings>();
  const save = useMutation({
    mutationFn: (values: RoutingSettings) => patch<RoutingSettings>('/routing/settings', values),
    onSuccess: (saved) => {
      queryClient.setQueryData(routingKeys.settings, saved);
      form.setFieldsValue(saved);
      void message.success(t('settings.saved'));
    },
    onError: (error) => void message.error(error.message),
  });
  if (!settings.data) return <Skeleton active />;

  const noticeRule = { validator: (_: unknown, value?: string) => (!value || value.includes('{position}') ? Promise.resolve() : Promise.reject(new Error(t('settings.positionRequired')))) };

  return (
    <Form form={form} layout="vertical" initialValues={settings.data} disabled={!editable} onFinish={(values) => save.mutate(values)} style={{ maxWidth: 720 }}>
      <Typography.Paragraph type="secondary">
        {t('settings.intro')} {!editable && t('adminOnly')}
      </Typography.Paragraph>
      <Form.Item name="strategy" label={t('settings.strategy')}>
        <Radio.Group
          options={(['least_busy', 'round_robin'] as const).map((strategy) => ({
            value: strategy,
            label: `${t(`settings.${strategy}`)} — ${t(`settings.${strategy}Hint`)}`,
          }))}
        />
      </Form.Item>
      <Space wrap align="start" size="large">
        <Form.Item name="vipTiers" label={t('settings.vipTiers')} extra={t('settings.vipTiersHint')} style={{ minWidth: 280 }}>
          <Select mode="tags" tokenSeparators={[',', '，']} open={false} suffixIcon={null} />
        </Form.Item>
        <Form.Item name="vipPriority" label={t('settings.vipPriority')}>
          <Select style={{ width: 160 }} options={priorities.map((priority) => ({ value: priority, label: t(`priorities.${priority}`) }))} />
        </Form.Item>
      </Space>
      <Form.Item name="defaultHandleMinutes" label={t('settings.defaultHandleMinutes')} extra={t('settings.defaultHandleMinutesHint')} rules={[{ required: true }]}>
        <InputNumber min={0.5} max={600} step={0.5} />
      </Form.Item>
      <Divider titlePlacement="start">{t('settings.queueNotice')}</Divider>
      <Form.Item name={['queueNotice', 'enabled']} valuePropName="checked" label={t('settings.noticeEnabled')}>
        <Switch />
      </Form.Item>
      <Space wrap align="start" size="large">
        <Form.Item name={['queueNotice', 'minIntervalSeconds']} label={t('settings.minIntervalSeconds')} rules={[{ required: true }]}>
          <InputNumber min={0} max={86_400} precision={0} />
        </Form.Item>
        <Form.Item name={['queueNotice', 'minPositionChange']} label={t('settings.minPositionChange')} rules={[{ required: true }]}>
          <InputNumber min={1} max={1000} precision={0} />
        </Form.Item>
      </Space>
      {(['zh', 'en'] as const).map((language) => (
        <Form.Item
          key={language}
          name={['queueNotice', 'texts', language]}
          label={t(language === 'zh' ? 'settings.textZh' : 'settings.textEn')}
          extra={t('settings.textHint')}
          rules={[{ required: true, whitespace: true }, { max: 500 }, noticeRule]}
        >
          <Input.TextArea autoSize={{ minRows: 2, maxRows: 5 }} maxLength={500} showCount />
        </Form.Item>
      ))}
      {editable && (
        <Button type="primary" htmlType="submit" loading={save.isPending}>
          {t('actions.save', { ns: 'common' })}
        </Button>
      )}
    </Form>
  );
}
