import { ClockCircleOutlined } from '@ant-design/icons';
import { useVirtualizer } from '@tanstack/react-virtual';
import { Alert, Badge, Empty, Input, Select, Spin, Tabs, Tag, Typography } from 'antd';
import { useEffect, useMemo, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { ChannelBadge, useChannelTypeLabel } from '../shared/channel-types';
import { formatDuration, formatTime, fromNow } from '../shared/time';
import { listTabs, useConversationList, useNow, type ListFilters, type ListQuery, type ListTab } from './queries';
import { channelTypeOf, contactNameOf, conversationStatuses, priorities, type Conversation, type Team } from './types';

export const priorityColor = ['default', 'blue', 'orange', 'red'] as const;

/** Typing in a field must not move the list. */
export const isTyping = (target: EventTarget | null) =>
  target instanceof HTMLElement && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName));

/**
 * The contact's name as the list row carries it (GET /conversations gives every row its contact).
 * An unnamed contact is named by what the row shows, the channel they wrote on, and never looked
 * up: a row can outlive the agent's right to see its contact (after a transfer), and a list of
 * hundreds must not make hundreds of reads.
 */
export function ContactName({ conversation }: { conversation: Conversation }) {
  const { t } = useTranslation('workspace');
  const channelLabel = useChannelTypeLabel();
  const given = contactNameOf(conversation);
  if (given) return <>{given}</>;
  const channelType = channelTypeOf(conversation);
  return <>{channelType ? t('unnamedContactOn', { channel: channelLabel(channelType) }) : t('unnamedContact')}</>;
}

function ConversationRow({ conversation, now, active, open }: { conversation: Conversation; now: number; active: boolean; open: boolean }) {
  const { t } = useTranslation('workspace');
  const channelType = channelTypeOf(conversation);
  const last = conversation.lastMessage;
  // Waiting: in the queue since it joined; with an agent, since the customer's unanswered message.
  const waitingSince =
    conversation.routingStatus === 'queued' ? conversation.queuedAt : conversation.status !== 'resolved' && last?.direction === 'inbound' ? last.at : null;
  const waited = waitingSince ? (now - new Date(waitingSince).getTime()) / 1000 : undefined;
  const preview = last?.id
    ? `${last.direction === 'outbound' ? t('replyPrefix') : ''}${last.text ?? `[${t(`content.${last.contentKind}`, { defaultValue: last.contentKind ?? '' })}]`}`
    : null;
  return (
    <div className={`ws-row${active ? ' ws-row-active' : ''}${open ? ' ws-row-open' : ''}`}>
      <div className="ws-row-top">
        <Typography.Text strong ellipsis className="ws-row-name">
          <ContactName conversation={conversation} />
        </Typography.Text>
        {!!conversation.unansweredCount && conversation.status !== 'resolved' && (
          <Badge count={conversation.unansweredCount} size="small" title={t('unanswered', { count: conversation.unansweredCount })} />
        )}
        <span className="ws-row-time" title={formatTime(conversation.lastMessageAt)}>
          {fromNow(conversation.lastMessageAt)}
        </span>
      </div>
      <div className="ws-row-preview">{preview ?? <Typography.Text type="secondary">{t(`status.${conversation.status}`)}</Typography.Text>}</div>
      <div className="ws-row-tags">
        {channelType && <ChannelBadge type={channelType} />}
        {conversation.priority !== 1 && <Tag color={priorityColor[conversation.priority] ?? 'default'}>{t(`priority.${conversation.priority}`)}</Tag>}
        {conversation.status !== 'open' && <Tag>{t(`status.${conversation.status}`)}</Tag>}
        {conversation.routingStatus === 'queued' && <Tag color="gold">{t('routing.queued')}</Tag>}
        {waited !== undefined && (
          <span className={`ws-row-wait${waited > 300 ? ' ws-row-wait-long' : ''}`} title={t('waitingFor')}>
            <ClockCircleOutlined /> {formatDuration(waited)}
          </span>
        )}
      </div>
    </div>
  );
}

interface Props {
  tab: ListTab;
  onTab(tab: ListTab): void;
  canSeeAll: boolean;
  filters: ListFilters;
  onFilters(filters: ListFilters): void;
  query: ListQuery;
  /** False while the agent's teams are not known yet (My teams). */
  ready: boolean;
  teams: Team[];
  teamId: string | undefined;
  onTeam(teamId: string): void;
  /** Channels a filter can name: all of them for managers, those met in the lists for agents. */
  channels: { id: string; name: string }[];
  /** Beside the tabs: the shortcuts' help. */
  extra?: ReactNode;
  openId: string | undefined;
  onOpen(id: string): void;
}

/** The conversation lists: one virtual window over keyset pages, so ten thousand rows scroll like ten. */
export function ConversationList({ tab, onTab, canSeeAll, filters, onFilters, query, ready, teams, teamId, onTeam, channels, extra, openId, onOpen }: Props) {
  const { t } = useTranslation('workspace');
  const list = useConversationList(query, ready);
  const rows = useMemo(() => list.data?.pages.flatMap((page) => page.items) ?? [], [list.data]);
  const now = useNow();
  const scrollRef = useRef<HTMLDivElement>(null);
  const [active, setActive] = useState(0);
  const [search, setSearch] = useState(filters.q ?? '');
  const [metChannels, setMetChannels] = useState<Map<string, string>>(() => new Map());

  // Agents may not list the channels; the ones their lists show are the ones worth filtering by.
  useEffect(() => {
    const unseen = rows.filter((c) => c.lastChannel?.id && c.lastChannel.name && !metChannels.has(c.lastChannel.id));
    if (unseen.length) setMetChannels((known) => new Map([...known, ...unseen.map((c) => [c.lastChannel!.id!, c.lastChannel!.name!] as const)]));
  }, [rows, metChannels]);
  const channelOptions = useMemo(() => {
    const all = new Map([...metChannels, ...channels.map((c) => [c.id, c.name] as const)]);
    return [...all].map(([value, label]) => ({ value, label })).sort((a, b) => a.label.localeCompare(b.label));
  }, [metChannels, channels]);

  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => 84,
    overscan: 8,
    getItemKey: (index) => rows[index]?.id ?? index,
  });
  const items = virtualizer.getVirtualItems();
  const lastIndex = items.at(-1)?.index ?? 0;

  useEffect(() => {
    if (lastIndex >= rows.length - 10 && list.hasNextPage && !list.isFetchingNextPage) void list.fetchNextPage();
  }, [lastIndex, rows.length, list]);

  // The highlighted row follows the open conversation when it moves in the list.
  useEffect(() => {
    const index = rows.findIndex((c) => c.id === openId);
    if (index >= 0) setActive(index);
  }, [openId, rows]);

  const move = (delta: number) => {
    if (!rows.length) return;
    const next = Math.max(0, Math.min(rows.length - 1, active + delta));
    setActive(next);
    virtualizer.scrollToIndex(next, { align: 'auto' });
  };

  // j/k work from anywhere on the page except while typing; the arrows while the list has focus.
  useEffect(() => {
    const onKey = (event: globalThis.KeyboardEvent) => {
      if (isTyping(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
      if (event.key === 'j') move(1);
      else if (event.key === 'k') move(-1);
      else if (event.key === 'Enter' && event.target === document.body && rows[active]) onOpen(rows[active].id);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  const onListKey = (event: KeyboardEvent<HTMLDivElement>) => {
    if (event.key === 'ArrowDown') move(1);
    else if (event.key === 'ArrowUp') move(-1);
    else if (event.key === 'Enter' && rows[active]) onOpen(rows[active].id);
    else return;
    event.preventDefault();
  };

  const activeRow = rows[active];
  const tabs = listTabs.filter((key) => key !== 'all' || canSeeAll);

  return (
    <section className="ws-list" aria-label={t('listTitle')}>
      <Tabs
        size="small"
        activeKey={tab}
        onChange={(key) => onTab(key as ListTab)}
        items={tabs.map((key) => ({ key, label: t(`tabs.${key}`) }))}
        tabBarExtraContent={extra}
        className="ws-tabs"
      />
      <div className="ws-filters">
        <Input.Search
          aria-label={t('filters.search')}
          placeholder={t('filters.searchPlaceholder')}
          allowClear
          value={search}
          onChange={(event) => {
            setSearch(event.target.value);
            if (!event.target.value) onFilters({ ...filters, q: undefined });
          }}
          onSearch={(value) => onFilters({ ...filters, q: value.trim().length >= 2 ? value.trim() : undefined })}
        />
        {tab === 'teams' && teams.length > 1 && (
          <Select aria-label={t('filters.team')} size="small" value={teamId} onChange={onTeam} options={teams.map((team) => ({ value: team.id, label: team.name }))} />
        )}
        <div className="ws-filter-row">
          <Select
            aria-label={t('filters.status')}
            placeholder={t('filters.status')}
            allowClear
            size="small"
            value={filters.status}
            onChange={(status) => onFilters({ ...filters, status })}
            options={conversationStatuses.map((status) => ({ value: status, label: t(`status.${status}`) }))}
            popupMatchSelectWidth={false}
          />
          <Select
            aria-label={t('filters.channel')}
            placeholder={t('filters.channel')}
            allowClear
            size="small"
            value={filters.channelId}
            onChange={(channelId) => onFilters({ ...filters, channelId })}
            options={channelOptions}
            popupMatchSelectWidth={false}
          />
          <Select
            aria-label={t('filters.priority')}
            placeholder={t('filters.priority')}
            allowClear
            size="small"
            value={filters.priority}
            onChange={(priority) => onFilters({ ...filters, priority })}
            options={priorities.map((priority) => ({ value: priority, label: t(`priority.${priority}`) }))}
            popupMatchSelectWidth={false}
          />
        </div>
      </div>
      {list.isError && <Alert type="error" showIcon title={list.error.message} className="ws-list-error" />}
      <div
        ref={scrollRef}
        className="ws-list-scroll"
        role="listbox"
        tabIndex={0}
        aria-label={t(`tabs.${tab}`)}
        aria-activedescendant={activeRow ? `ws-row-${activeRow.id}` : undefined}
        onKeyDown={onListKey}
      >
        {list.isLoading && <Spin className="page-spin" />}
        {!list.isLoading && !rows.length && (
          <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t(tab === 'teams' && !teams.length ? 'noTeams' : `emptyList.${tab}`)} />
        )}
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {items.map((item) => {
            const conversation = rows[item.index]!;
            return (
              <div
                key={item.key}
                id={`ws-row-${conversation.id}`}
                role="option"
                aria-selected={conversation.id === openId}
                data-index={item.index}
                ref={virtualizer.measureElement}
                className="ws-row-slot"
                style={{ transform: `translateY(${item.start}px)` }}
                onClick={() => {
                  setActive(item.index);
                  onOpen(conversation.id);
                }}
              >
                <ConversationRow conversation={conversation} now={now} active={item.index === active} open={conversation.id === openId} />
              </div>
            );
          })}
        </div>
        {list.isFetchingNextPage && <Spin size="small" className="page-spin" />}
      </div>
      <div className="ws-list-footer">
        <Badge status={list.isFetching ? 'processing' : 'default'} text={t('listCount', { count: rows.length, more: list.hasNextPage ? '+' : '' })} />
      </div>
    </section>
  );
}
