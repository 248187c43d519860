import { ClockCircleOutlined } from '@ant-design/icons';
import { useVirtualizer } from '@tanstack/react-virtual';
import { Alert, Badge, Empty, Input, Select, Spin, Tabs, Tag } from 'antd';
import { memo, useCallback, useEffect, useMemo, useRef, useState, type KeyboardEvent, type ReactNode, type RefObject } from 'react';
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

/** One row: rendered again only when its own conversation, highlight or clock changes, never for a scroll. */
const ConversationRow = memo(function ConversationRow({ conversation, now, active, open }: { conversation: Conversation; now: number; active: boolean; open: boolean }) {
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
        {/* A CSS ellipsis: antd's measures the text on every render. */}
        <span className="ws-row-name">
          <ContactName conversation={conversation} />
        </span>
        {!!conversation.unansweredCount && conversation.status !== 'resolved' && (
          <Badge count={conversation.unansweredCount} size="small" title={t('unanswered', { count: conversation.unansweredCount })} />
        )}
        <span className="ws-row-time" title={formatTime(conversation.lastMessageAt)}>
          {fromNow(conversation.lastMessageAt)}
        </span>
      </div>
      <div className="ws-row-preview">{preview ?? <span className="ws-row-secondary">{t(`status.${conversation.status}`)}</span>}</div>
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
});

interface RowsProps {
  rows: Conversation[];
  now: number;
  active: number;
  openId: string | undefined;
  onPick(index: number, id: string): void;
  /** Set to scroll a row into view (the keyboard's moves). */
  scroller: RefObject<((index: number) => void) | null>;
  label: string;
  activeDescendant: string | undefined;
  onKeyDown(event: KeyboardEvent<HTMLDivElement>): void;
  loading: boolean;
  empty: string;
  fetchingMore: boolean;
  /** Reads the next page when the window nears the loaded end; undefined when there is none to read now. */
  fetchMore: (() => void) | undefined;
}

/**
 * The virtual window on its own: a scroll re-renders this and the rows coming into view, not the
 * tabs and filters above it.
 */
function VirtualRows({ rows, now, active, openId, onPick, scroller, label, activeDescendant, onKeyDown, loading, empty, fetchingMore, fetchMore }: RowsProps) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => 84,
    overscan: 8,
    getItemKey: (index) => rows[index]?.id ?? index,
  });
  scroller.current = (index) => virtualizer.scrollToIndex(index, { align: 'auto' });
  const items = virtualizer.getVirtualItems();
  const lastIndex = items.at(-1)?.index ?? 0;

  useEffect(() => {
    if (lastIndex >= rows.length - 10 && fetchMore) fetchMore();
  }, [lastIndex, rows.length, fetchMore]);

  return (
    <div ref={scrollRef} className="ws-list-scroll" role="listbox" tabIndex={0} aria-label={label} aria-activedescendant={activeDescendant} onKeyDown={onKeyDown}>
      {loading && <Spin className="page-spin" />}
      {!loading && !rows.length && <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={empty} />}
      <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
        {items.map((item) => {
          const conversation = rows[item.index]!;
          return (
            <RowSlot
              key={item.key}
              index={item.index}
              start={item.start}
              measure={virtualizer.measureElement}
              conversation={conversation}
              now={now}
              active={item.index === active}
              open={conversation.id === openId}
              onPick={onPick}
            />
          );
        })}
      </div>
      {fetchingMore && <Spin size="small" className="page-spin" />}
    </div>
  );
}

const RowSlot = memo(function RowSlot({
  index,
  start,
  measure,
  conversation,
  now,
  active,
  open,
  onPick,
}: {
  index: number;
  start: number;
  measure(node: Element | null): void;
  conversation: Conversation;
  now: number;
  active: boolean;
  open: boolean;
  onPick(index: number, id: string): void;
}) {
  return (
    <div
      id={`ws-row-${conversation.id}`}
      role="option"
      aria-selected={open}
      data-index={index}
      ref={measure}
      className="ws-row-slot"
      style={{ transform: `translateY(${start}px)` }}
      onClick={() => onPick(index, conversation.id)}
    >
      <ConversationRow conversation={conversation} now={now} active={active} open={open} />
    </div>
  );
});

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

  const scroller = useRef<((index: number) => void) | null>(null);
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = list;
  const fetchMore = useMemo(() => (hasNextPage && !isFetchingNextPage ? () => void fetchNextPage() : undefined), [hasNextPage, isFetchingNextPage, fetchNextPage]);
  const openRef = useRef(onOpen);
  openRef.current = onOpen;
  const pick = useCallback((index: number, id: string) => {
    setActive(index);
    openRef.current(id);
  }, []);

  // The highlighted row follows the open conversation when it moves in the list.
  useEffect(() => {
    const index = rows.findIndex((c) => c.id === openId);
    if (index >= 0) setActive(index);
  }, [openId, rows]);

  const move = (delta: number) => {
    if (!rows.length) return;
    const next = Math.max(0, Math.min(rows.length - 1, active + delta));
    setActive(next);
    scroller.current?.(next);
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
      <VirtualRows
        rows={rows}
        now={now}
        active={active}
        openId={openId}
        onPick={pick}
        scroller={scroller}
        label={t(`tabs.${tab}`)}
        activeDescendant={activeRow ? `ws-row-${activeRow.id}` : undefined}
        onKeyDown={onListKey}
        loading={list.isLoading}
        empty={t(tab === 'teams' && !teams.length ? 'noTeams' : `emptyList.${tab}`)}
        fetchingMore={list.isFetchingNextPage}
        fetchMore={fetchMore}
      />
      <div className="ws-list-footer">
        <Badge status={list.isFetching ? 'processing' : 'default'} text={t('listCount', { count: rows.length, more: list.hasNextPage ? '+' : '' })} />
      </div>
    </section>
  );
}
