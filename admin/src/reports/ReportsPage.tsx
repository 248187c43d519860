import { DownloadOutlined } from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import { Button, Card, DatePicker, Segmented, Select, Space, Table } from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { BarChart, LineChart } from 'echarts/charts';
import { GraphicComponent, GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import ReactEChartsCore from 'echarts-for-react/esm/core';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { get, withQuery } from '../api/client';
import { useChannels } from '../channels/api';
import { useTeamOptions } from '../teams/queries';
import './messages';

// Only the charts this screen draws.
echarts.use([BarChart, LineChart, GraphicComponent, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

/** A row of GET /reports/service (core/reports/service-report.ts). */
interface ReportRow {
  key: string | null;
  label: string | null;
  conversations: number;
  firstResponseAvgSeconds: number | null;
  firstResponseP50Seconds: number | null;
  firstResponseP90Seconds: number | null;
  resolutionRate: number | null;
  csatAverage: number | null;
  csatResponses: number;
  slaWarnings: number;
  slaBreaches: number;
}

type Group = 'day' | 'team' | 'agent' | 'channel';

export default function ReportsPage() {
  const { t } = useTranslation('reports');
  const [range, setRange] = useState<[Dayjs, Dayjs]>([dayjs().subtract(6, 'day').startOf('day'), dayjs().endOf('day')]);
  const [groupBy, setGroupBy] = useState<Group>('day');
  const [teamId, setTeamId] = useState<string | undefined>();
  const [channelId, setChannelId] = useState<string | undefined>();
  const teams = useTeamOptions();
  const channels = useChannels();
  const query = {
    from: range[0].toISOString(),
    to: range[1].toISOString(),
    groupBy,
    teamId,
    channelId,
    timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
  };
  const report = useQuery({
    queryKey: ['reports', 'service', query],
    queryFn: async () => (await get<{ items: ReportRow[] }>('/reports/service', query)).items,
  });
  const rows = report.data ?? [];
  const name = (row: ReportRow) => row.label ?? row.key ?? '—';
  return (
    <Card
      title={t('title')}
      extra={
        <Button icon={<DownloadOutlined />} href={withQuery('/api/v1/reports/service.csv', query)}>
          {t('exportCsv')}
        </Button>
      }
    >
      <Space wrap style={{ marginBottom: 16 }}>
        <DatePicker.RangePicker
          aria-label={t('period')}
          value={range}
          allowClear={false}
          onChange={(value) => value?.[0] && value[1] && setRange([value[0].startOf('day'), value[1].endOf('day')])}
        />
        <Select
          style={{ minWidth: 160 }}
          allowClear
          aria-label={t('team')}
          placeholder={`${t('team')}: ${t('all')}`}
          loading={teams.loading}
          options={teams.options}
          value={teamId}
          onChange={setTeamId}
        />
        <Select
          style={{ minWidth: 160 }}
          allowClear
          aria-label={t('channel')}
          placeholder={`${t('channel')}: ${t('all')}`}
          options={(channels.data ?? []).map((c) => ({ value: c.id, label: c.name }))}
          value={channelId}
          onChange={setChannelId}
        />
        <Segmented<Group>
          aria-label={t('groupBy')}
          value={groupBy}
          onChange={setGroupBy}
          options={(['day', 'team', 'agent', 'channel'] as const).map((g) => ({ value: g, label: t(`groups.${g}`) }))}
        />
      </Space>
      <ReactEChartsCore
        echarts={echarts}
        notMerge
        style={{ height: 280 }}
        option={{
          color: ['#1f5fbf', '#faad14', '#cf1322'],
          tooltip: { trigger: 'axis' },
          // An empty period says so on the chart instead of showing bare axes.
          graphic: rows.length || report.isLoading ? [] : [{ type: 'text', left: 'center', top: 'middle', style: { text: t('noData'), fill: '#8c8c8c', fontSize: 14 } }],
          legend: { top: 0 },
          grid: { left: 8, right: 8, top: 40, bottom: 8, containLabel: true },
          xAxis: { type: 'category', data: rows.map(name) },
          yAxis: [
            { type: 'value', minInterval: 1 },
            { type: 'value', name: 's' },
          ],
          series: [
            { name: t('conversations'), type: 'bar', barMaxWidth: 28, data: rows.map((r) => r.conversations) },
            { name: t('frtAvg'), type: 'line', yAxisIndex: 1, data: rows.map((r) => r.firstResponseAvgSeconds) },
            { name: t('breaches'), type: 'bar', barMaxWidth: 28, data: rows.map((r) => r.slaBreaches) },
          ],
        }}
        opts={{ renderer: 'canvas' }}
      />
      <Table<ReportRow>
        rowKey={(row) => row.key ?? 'none'}
        size="middle"
        loading={report.isLoading}
        dataSource={rows}
        pagination={false}
        scroll={{ x: 900 }}
        columns={[
          { title: t('key'), key: 'key', render: (_, row) => name(row) },
          { title: t('conversations'), dataIndex: 'conversations' },
          { title: t('frtAvg'), dataIndex: 'firstResponseAvgSeconds' },
          { title: t('frtP50'), dataIndex: 'firstResponseP50Seconds' },
          { title: t('frtP90'), dataIndex: 'firstResponseP90Seconds' },
          { title: t('resolutionRate'), key: 'rate', render: (_, row) => (row.resolutionRate === null ? '—' : `${Math.round(row.resolutionRate * 100)}%`) },
          { title: t('csat'), dataIndex: 'csatAverage' },
          { title: t('csatResponses'), dataIndex: 'csatResponses' },
          { title: t('warnings'), dataIndex: 'slaWarnings' },
          { title: t('breaches'), dataIndex: 'slaBreaches' },
        ]}
      />
    </Card>
  );
}
