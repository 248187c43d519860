import { PlusOutlined } from '@ant-design/icons';
import { App, Button, DatePicker, Descriptions, Drawer, Form, Input, InputNumber, Popconfirm, Select, Space, Switch, Table, Tag, Typography } from 'antd';
import type { Dayjs } from 'dayjs';
import { BarChart } from 'echarts/charts';
import { GridComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import ReactEChartsCore from 'echarts-for-react/esm/core';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { formatTime } from '../shared/time';
import {
  useAudiences,
  useCampaignAction,
  useCampaignChannels,
  useCampaignResults,
  useCampaigns,
  useCreateCampaign,
  useTemplates,
  type Campaign,
  type Outcome,
} from './queries';

// Only the chart this screen draws.
echarts.use([BarChart, GridComponent, TooltipComponent, CanvasRenderer]);

const statusColors: Record<Campaign['status'], string> = {
  draft: 'default',
  scheduled: 'blue',
  running: 'processing',
  paused: 'warning',
  completed: 'success',
  cancelled: 'default',
};
const chartOutcomes: Outcome[] = ['sent', 'delivered', 'queued', 'pending', 'deferred', 'skipped', 'failed'];
const actionsFor: Record<Campaign['status'], Array<'start' | 'pause' | 'resume' | 'cancel'>> = {
  draft: ['start', 'cancel'],
  scheduled: ['pause', 'cancel'],
  running: ['pause', 'cancel'],
  paused: ['resume', 'cancel'],
  completed: [],
  cancelled: [],
};

export function CampaignsTab() {
  const { t } = useTranslation('campaigns');
  const { message } = App.useApp();
  const campaigns = useCampaigns();
  const action = useCampaignAction();
  const [creating, setCreating] = useState(false);
  const [showing, setShowing] = useState<Campaign | undefined>();
  const run = async (campaign: Campaign, what: 'start' | 'pause' | 'resume' | 'cancel') => {
    try {
      await action.mutateAsync({ id: campaign.id, action: what });
    } catch (error) {
      message.error((error as Error).message);
    }
  };
  return (
    <>
      <Space style={{ marginBottom: 16 }}>
        <Button type="primary" icon={<PlusOutlined />} onClick={() => setCreating(true)}>
          {t('newCampaign')}
        </Button>
      </Space>
      <Table<Campaign>
        rowKey="id"
        loading={campaigns.isLoading}
        dataSource={campaigns.data}
        scroll={{ x: 900 }}
        pagination={{ pageSize: 20, hideOnSinglePage: true }}
        columns={[
          { title: t('name'), dataIndex: 'name' },
          { title: t('kind'), dataIndex: 'kind', render: (kind: Campaign['kind']) => t(`kinds.${kind}`) },
          { title: t('status'), dataIndex: 'status', render: (status: Campaign['status']) => <Tag color={statusColors[status]}>{t(`statuses.${status}`)}</Tag> },
          { title: t('outcomes.recipients'), key: 'recipients', render: (_, c) => c.totals.recipients },
          { title: t('outcomes.sent'), key: 'sent', render: (_, c) => c.totals.sent + c.totals.delivered + c.totals.read },
          { title: t('outcomes.skipped'), key: 'skipped', render: (_, c) => c.totals.skipped },
          { title: t('outcomes.failed'), key: 'failed', render: (_, c) => c.totals.failed + c.totals.unknown },
          {
            title: '',
            key: 'actions',
            render: (_, campaign) => (
              <Space wrap>
                <Button size="small" onClick={() => setShowing(campaign)} aria-label={`${t('results')} ${campaign.name}`}>
                  {t('results')}
                </Button>
                {actionsFor[campaign.status].map((what) =>
                  what === 'cancel' ? (
                    <Popconfirm key={what} title={t('cancelConfirm')} onConfirm={() => void run(campaign, what)}>
                      <Button size="small" danger aria-label={`${t('cancel')} ${campaign.name}`}>
                        {t('cancel')}
                      </Button>
                    </Popconfirm>
                  ) : (
                    <Button key={what} size="small" type={what === 'start' ? 'primary' : 'default'} onClick={() => void run(campaign, what)} aria-label={`${t(what)} ${campaign.name}`}>
                      {t(what)}
                    </Button>
                  ),
                )}
              </Space>
            ),
          },
        ]}
      />
      {creating && <CampaignDrawer onClose={() => setCreating(false)} />}
      {showing && <ResultsDrawer campaign={campaigns.data?.find((c) => c.id === showing.id) ?? showing} onClose={() => setShowing(undefined)} />}
    </>
  );
}

interface CampaignForm {
  name: string;
  kind: Campaign['kind'];
  audienceId?: string;
  templateId: string;
  channelId: string;
  category: Campaign['category'];
  scheduledAt?: Dayjs;
  cron?: string;
  quiet: boolean;
  quietStart: string;
  quietEnd: string;
  capMax?: number;
  capDays?: number;
  ratePerSecond: number;
}

function CampaignDrawer({ onClose }: { onClose: () => void }) {
  const { t } = useTranslation('campaigns');
  const { message } = App.useApp();
  const [form] = Form.useForm<CampaignForm>();
  const kind = Form.useWatch('kind', form);
  const quiet = Form.useWatch('quiet', form);
  const templateId = Form.useWatch('templateId', form);
  const audiences = useAudiences();
  const templates = useTemplates();
  const channels = useCampaignChannels();
  const create = useCreateCampaign();
  const templateType = templates.data?.find((x) => x.id === templateId)?.channelType;
  const submit = async () => {
    const v = await form.validateFields();
    try {
      await create.mutateAsync({
        name: v.name,
        kind: v.kind,
        ...(v.kind !== 'triggered' ? { audienceId: v.audienceId } : {}),
        templateId: v.templateId,
        channelId: v.channelId,
        category: v.category,
        settings: {
          ...(v.kind === 'one_off' && v.scheduledAt ? { scheduledAt: v.scheduledAt.toISOString() } : {}),
          ...(v.kind === 'recurring' ? { cron: v.cron, timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone } : {}),
          quietHours: v.quiet ? { start: v.quietStart, end: v.quietEnd } : null,
          frequencyCap: v.capMax && v.capDays ? { max: v.capMax, days: v.capDays } : null,
          ratePerSecond: v.ratePerSecond,
        },
      });
      message.success(t('created'));
      onClose();
    } catch (error) {
      message.error((error as Error).message);
    }
  };
  const hhmm = [{ pattern: /^([01]\d|2[0-3]):[0-5]\d$/, message: 'HH:MM' }];
  return (
    <Drawer
      open
      title={t('newCampaign')}
      size="min(600px, 100vw)"
      onClose={onClose}
      destroyOnHidden
      footer={
        <Space style={{ justifyContent: 'flex-end', width: '100%' }}>
          <Button onClick={onClose}>{t('actions.cancel', { ns: 'common' })}</Button>
          <Button type="primary" loading={create.isPending} onClick={() => void submit()}>
            {t('actions.save', { ns: 'common' })}
          </Button>
        </Space>
      }
    >
      <Form
        form={form}
        layout="vertical"
        initialValues={{ kind: 'one_off', category: 'marketing', quiet: true, quietStart: '21:00', quietEnd: '08:00', capMax: 2, capDays: 7, ratePerSecond: 10 }}
      >
        <Form.Item name="name" label={t('name')} rules={[{ required: true }]}>
          <Input />
        </Form.Item>
        <Form.Item name="kind" label={t('kind')}>
          <Select options={(['one_off', 'recurring', 'triggered'] as const).map((k) => ({ value: k, label: t(`kinds.${k}`) }))} />
        </Form.Item>
        {kind !== 'triggered' && (
          <Form.Item name="audienceId" label={t('audience')} rules={[{ required: true }]}>
            <Select options={(audiences.data ?? []).map((a) => ({ value: a.id, label: a.name }))} />
          </Form.Item>
        )}
        <Form.Item name="templateId" label={t('template')} rules={[{ required: true }]}>
          <Select options={(templates.data ?? []).map((x) => ({ value: x.id, label: x.name }))} />
        </Form.Item>
        <Form.Item name="channelId" label={t('channel')} rules={[{ required: true }]}>
          <Select
            options={(channels.data ?? [])
              .filter((c) => c.enabled && (!templateType || c.type === templateType))
              .map((c) => ({ value: c.id, label: c.name }))}
          />
        </Form.Item>
        <Form.Item name="category" label={t('category')}>
          <Select options={(['marketing', 'transactional'] as const).map((c) => ({ value: c, label: t(`categories.${c}`) }))} />
        </Form.Item>
        {kind === 'one_off' && (
          <Form.Item name="scheduledAt" label={t('sendAt')} extra={t('sendAtHint')}>
            <DatePicker showTime style={{ width: '100%' }} />
          </Form.Item>
        )}
        {kind === 'recurring' && (
          <Form.Item name="cron" label={t('cron')} rules={[{ required: true }]} extra="0 9 * * *">
            <Input />
          </Form.Item>
        )}
        <Form.Item name="quiet" label={t('quietHours')} valuePropName="checked">
          <Switch />
        </Form.Item>
        {quiet && (
          <Space wrap>
            <Form.Item name="quietStart" label={t('quietStart')} rules={hhmm}>
              <Input style={{ width: 120 }} />
            </Form.Item>
            <Form.Item name="quietEnd" label={t('quietEnd')} rules={hhmm}>
              <Input style={{ width: 120 }} />
            </Form.Item>
          </Space>
        )}
        <Space wrap>
          <Form.Item name="capMax" label={t('capMax')}>
            <InputNumber min={1} max={100} />
          </Form.Item>
          <Form.Item name="capDays" label={t('capDays')}>
            <InputNumber min={1} max={90} />
          </Form.Item>
          <Form.Item name="ratePerSecond" label={t('rate')} rules={[{ required: true }]}>
            <InputNumber min={0.01} max={1000} />
          </Form.Item>
        </Space>
      </Form>
    </Drawer>
  );
}

function ResultsDrawer({ campaign, onClose }: { campaign: Campaign; onClose: () => void }) {
  const { t } = useTranslation('campaigns');
  const results = useCampaignResults(campaign.id, campaign.status === 'running');
  const totals = results.data?.totals ?? campaign.totals;
  const title = t('resultsOf', { name: campaign.name });
  return (
    <Drawer open title={title} aria-label={title} size="min(720px, 100vw)" onClose={onClose}>
      <Descriptions size="small" column={{ xs: 2, sm: 4 }} bordered>
        {(['recipients', 'sent', 'skipped', 'failed', 'deferred', 'pending'] as const).map((key) => (
          <Descriptions.Item key={key} label={t(`outcomes.${key}`)}>
            {key === 'sent' ? totals.sent + totals.delivered + totals.read : totals[key]}
          </Descriptions.Item>
        ))}
      </Descriptions>
      <Typography.Title level={5} style={{ marginTop: 16 }}>
        {t('chartTitle')}
      </Typography.Title>
      <ReactEChartsCore
        echarts={echarts}
        style={{ height: 240 }}
        notMerge
        option={{
          tooltip: {},
          grid: { left: 40, right: 16, top: 24, bottom: 32 },
          xAxis: { type: 'category', data: chartOutcomes.map((o) => t(`outcomes.${o}`)) },
          yAxis: { type: 'value', minInterval: 1 },
          series: [{ type: 'bar', data: chartOutcomes.map((o) => totals[o]), itemStyle: { color: '#1677ff' } }],
        }}
      />
      <Table
        size="small"
        rowKey="reason"
        pagination={false}
        style={{ marginTop: 16 }}
        dataSource={results.data?.skipped ?? []}
        locale={{ emptyText: t('none') }}
        columns={[
          { title: t('reason'), dataIndex: 'reason', render: (reason: string) => t(`reasons.${reason}`, { defaultValue: reason }) },
          { title: t('count'), dataIndex: 'n' },
        ]}
      />
      {!!results.data?.failures.length && (
        <Table
          size="small"
          rowKey="code"
          pagination={false}
          style={{ marginTop: 16 }}
          dataSource={results.data.failures}
          columns={[
            { title: t('failureCode'), dataIndex: 'code' },
            { title: t('count'), dataIndex: 'n' },
          ]}
        />
      )}
      <p style={{ marginTop: 16, color: '#888' }}>{formatTime(campaign.createdAt)}</p>
    </Drawer>
  );
}
