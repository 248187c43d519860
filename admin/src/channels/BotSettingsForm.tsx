import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Card, Form, Input, InputNumber, Select, Space, Spin, Switch } from 'antd';
import { useTranslation } from 'react-i18next';
import { get, patch } from '../api/client';
import { channelKeys, type BotSettings } from './api';

const priorities = [0, 1, 2, 3];

/** A channel's bot: on or off, when it hands over to a person, and what it says. */
export function BotSettingsForm({ channelId, readOnly }: { channelId: string; readOnly: boolean }) {
  const { t } = useTranslation('channels');
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [form] = Form.useForm<BotSettings>();
  const settings = useQuery({ queryKey: channelKeys.bot(channelId), queryFn: () => get<BotSettings>(`/channels/${channelId}/bot`) });
  const save = useMutation({
    mutationFn: (values: BotSettings) => patch<BotSettings>(`/channels/${channelId}/bot`, values),
    onSuccess: (saved) => {
      queryClient.setQueryData(channelKeys.bot(channelId), saved);
      void message.success(t('bot.saved'));
    },
    onError: (error) => void message.error(error.message),
  });

  if (settings.isLoading) return <Spin />;
  if (settings.isError) return null;
  const keywordsSelect = <Select mode="tags" tokenSeparators={[',', '，']} placeholder={t('form.tagsPlaceholder')} />;
  const text = <Input.TextArea autoSize={{ minRows: 2, maxRows: 6 }} />;

  return (
    <Form
      form={form}
      layout="vertical"
      initialValues={settings.data}
      onFinish={(values) => save.mutate(values)}
      disabled={readOnly || save.isPending}
      style={{ maxWidth: 760 }}
    >
      <Form.Item name="enabled" label={t('bot.enabled')} extra={t('bot.enabledHelp')} valuePropName="checked">
        <Switch />
      </Form.Item>
      <Form.Item name="handoverKeywords" label={t('bot.handoverKeywords')} extra={t('bot.handoverKeywordsHelp')} rules={[{ type: 'array', max: 50 }]}>
        {keywordsSelect}
      </Form.Item>
      <Form.Item name="maxFailures" label={t('bot.maxFailures')} extra={t('bot.maxFailuresHelp')} rules={[{ required: true }]}>
        <InputNumber min={1} max={10} precision={0} />
      </Form.Item>
      <Form.Item name="confidenceThreshold" label={t('bot.confidenceThreshold')} extra={t('bot.confidenceThresholdHelp')} rules={[{ required: true }]}>
        <InputNumber min={0} max={1} step={0.05} />
      </Form.Item>
      <Form.Item name="offerText" label={t('bot.offerText')} extra={t('bot.offerTextHelp')} rules={[{ required: true, whitespace: true }, { max: 1000 }]}>
        {text}
      </Form.Item>
      <Form.Item name="fallbackText" label={t('bot.fallbackText')} rules={[{ required: true, whitespace: true }, { max: 1000 }]}>
        {text}
      </Form.Item>
      <Form.Item name="handoverText" label={t('bot.handoverText')} rules={[{ required: true, whitespace: true }, { max: 1000 }]}>
        {text}
      </Form.Item>
      <Card size="small" title={t('bot.urgentRules')} style={{ marginBottom: 24 }}>
        <p style={{ marginTop: 0, color: 'rgba(0,0,0,0.55)' }}>{t('bot.urgentRulesHelp')}</p>
        <Form.List name="urgentRules">
          {(rows, { add, remove }) => (
            <>
              {rows.map((row, index) => (
                <Space key={row.key} align="start" wrap style={{ display: 'flex', marginBottom: 8 }}>
                  <Form.Item name={[row.name, 'keywords']} label={t('bot.ruleKeywords', { n: index + 1 })} rules={[{ required: true }]} style={{ minWidth: 320 }}>
                    {keywordsSelect}
                  </Form.Item>
                  <Form.Item name={[row.name, 'priority']} label={t('bot.priority')} rules={[{ required: true }]}>
                    <Select style={{ width: 120 }} options={priorities.map((value) => ({ value, label: t(`bot.priorities.${value}`) }))} />
                  </Form.Item>
                  {!readOnly && (
                    <Button
                      type="text"
                      danger
                      icon={<DeleteOutlined />}
                      aria-label={`${t('bot.removeRule')} ${index + 1}`}
                      onClick={() => remove(row.name)}
                      style={{ marginTop: 30 }}
                    />
                  )}
                </Space>
              ))}
              {!readOnly && rows.length < 20 && (
                <Button type="dashed" icon={<PlusOutlined />} onClick={() => add({ keywords: [], priority: 2 })}>
                  {t('bot.addRule')}
                </Button>
              )}
            </>
          )}
        </Form.List>
      </Card>
      {!readOnly && (
        <Button type="primary" htmlType="submit" loading={save.isPending}>
          {t('bot.save')}
        </Button>
      )}
    </Form>
  );
}
