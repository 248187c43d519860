import { FieldTimeOutlined } from '@ant-design/icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Tag, Tooltip } from 'antd';
import { useTranslation } from 'react-i18next';
import { get } from '../api/client';
import { useLiveEvents } from '../live/LiveFeed';
import { formatDuration, formatTime } from '../shared/time';
import { useNow, workspaceKeys } from './queries';

interface SlaClockRow {
  target: string;
  status: string;
  dueAt: string;
  warnedAt: string | null;
  breachedAt: string | null;
  stoppedAt: string | null;
}

/** Frames after which the conversation's clocks may have started, stopped, warned or breached. */
const clockFrames = new Set(['sla.warning', 'sla.breached', 'conversation.updated', 'message.created']);

/**
 * The conversation's most pressing SLA clock as a countdown: amber once warned, red and counting
 * up once breached. Nothing when no clock runs, or when the agent may not read them.
 */
export function SlaClock({ conversationId }: { conversationId: string }) {
  const { t } = useTranslation('workspace');
  const queryClient = useQueryClient();
  const sla = useQuery({
    queryKey: workspaceKeys.sla(conversationId),
    queryFn: () => get<{ clocks: SlaClockRow[] }>(`/conversations/${conversationId}/sla`),
    retry: false,
  });
  useLiveEvents((event) => {
    if (event.conversationId === conversationId && clockFrames.has(event.type)) void queryClient.invalidateQueries({ queryKey: workspaceKeys.sla(conversationId) });
  });
  const now = useNow(1_000);
  const running = (sla.data?.clocks ?? []).filter((clock) => !clock.stoppedAt).sort((a, b) => Date.parse(a.dueAt) - Date.parse(b.dueAt));
  const clock = running[0];
  if (!clock) return null;
  const left = (Date.parse(clock.dueAt) - now) / 1000;
  const look = clock.breachedAt ? 'error' : clock.warnedAt ? 'warning' : 'default';
  const target = t(`sla.target.${clock.target}`, { defaultValue: clock.target });
  const text = clock.breachedAt || left < 0 ? t('sla.overdue', { target, time: formatDuration(-left) }) : t('sla.dueIn', { target, time: formatDuration(left) });
  return (
    <Tooltip title={t('sla.dueAt', { at: formatTime(clock.dueAt) })}>
      <Tag color={look} icon={<FieldTimeOutlined />} className="ws-sla" role="timer" aria-label={text}>
        {text}
      </Tag>
    </Tooltip>
  );
}
