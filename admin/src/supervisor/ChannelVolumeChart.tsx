import { BarChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import ReactEChartsCore from 'echarts-for-react/esm/core';
import { useTranslation } from 'react-i18next';
import { useChannelTypeLabel } from '../shared/channel-types';
import type { ChannelVolume } from './overview';

// Only the pieces this chart draws, so the supervisor chunk does not carry all of ECharts.
echarts.use([BarChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

/** Today's inbound and outbound messages and new conversations, one group of bars per channel. */
export function ChannelVolumeChart({ channels }: { channels: ChannelVolume[] }) {
  const { t } = useTranslation('supervisor');
  const typeLabel = useChannelTypeLabel();
  const series = (['inbound', 'outbound', 'conversationsOpened'] as const).map((field) => ({
    name: t(`volume.${field}`),
    type: 'bar' as const,
    barMaxWidth: 28,
    data: channels.map((channel) => channel[field]),
  }));
  return (
    <ReactEChartsCore
      echarts={echarts}
      notMerge
      style={{ height: 280 }}
      option={{
        // The console's blue for what customers send, green for replies, amber for new conversations.
        color: ['#1f5fbf', '#52c41a', '#faad14'],
        tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
        legend: { top: 0 },
        grid: { left: 8, right: 8, top: 40, bottom: 8, containLabel: true },
        xAxis: { type: 'category', data: channels.map((channel) => channel.name || typeLabel(channel.type)), axisLabel: { interval: 0, overflow: 'truncate', width: 96 } },
        yAxis: { type: 'value', minInterval: 1 },
        series,
      }}
      opts={{ renderer: 'canvas' }}
    />
  );
}
