import {
  CheckCircleOutlined,
  CheckOutlined,
  ClockCircleOutlined,
  CloseCircleOutlined,
  DownOutlined,
  EyeOutlined,
  LockOutlined,
  PaperClipOutlined,
  QuestionCircleOutlined,
  RobotOutlined,
} from '@ant-design/icons';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useMutation } from '@tanstack/react-query';
import { App, Button, Empty, Spin, Tag, Tooltip, Typography } from 'antd';
import { useEffect, useLayoutEffect, useRef, useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { post } from '../api/client';
import { ChannelBadge } from '../shared/channel-types';
import { formatTime } from '../shared/time';
import dayjs from 'dayjs';
import { isNote, type Attachment, type Message, type MessageStatus } from './types';

/** What a message's channel badge shows. */
export interface ChannelLook {
  type: string;
  name: string;
}

const statusLook: Record<MessageStatus, { color: string; icon: ReactNode }> = {
  received: { color: 'default', icon: null },
  queued: { color: 'default', icon: <ClockCircleOutlined /> },
  sending: { color: 'processing', icon: <ClockCircleOutlined /> },
  sent: { color: 'default', icon: <CheckOutlined /> },
  delivered: { color: 'success', icon: <CheckCircleOutlined /> },
  read: { color: 'success', icon: <EyeOutlined /> },
  failed: { color: 'error', icon: <CloseCircleOutlined /> },
  unknown: { color: 'warning', icon: <QuestionCircleOutlined /> },
};

function DeliveryStatus({ message }: { message: Message }) {
  const { t } = useTranslation('workspace');
  const look = statusLook[message.status] ?? statusLook.unknown;
  const reason = [message.errorCode, message.errorMessage].filter(Boolean).join(': ');
  const tag = (
    <Tag color={look.color} icon={look.icon} className="ws-status">
      {t(`delivery.${message.status}`, { defaultValue: message.status })}
    </Tag>
  );
  return (
    <>
      {reason ? <Tooltip title={reason}>{tag}</Tooltip> : tag}
      {message.status === 'failed' && reason && (
        <Typography.Text type="danger" className="ws-failure">
          {reason}
        </Typography.Text>
      )}
    </>
  );
}

function Attachments({ payload }: { payload: Record<string, unknown> }) {
  const { t } = useTranslation('workspace');
  const list = Array.isArray(payload.attachments) ? (payload.attachments as Attachment[]) : [];
  if (!list.length) return null;
  return (
    <ul className="ws-attachments" aria-label={t('attachments')}>
      {list.map((file, index) => {
        const id = file.id ?? file.attachmentId;
        const name = file.fileName ?? file.name ?? t('attachment', { n: index + 1 });
        return (
          <li key={id ?? index}>
            <PaperClipOutlined />{' '}
            {id ? (
              <a href={`/api/v1/attachments/${id}`} download={name}>
                {name}
              </a>
            ) : (
              name
            )}
            {file.size ? <Typography.Text type="secondary"> ({Math.ceil(file.size / 1024)} KB)</Typography.Text> : null}
          </li>
        );
      })}
    </ul>
  );
}

/**
 * Card and ID numbers (and, for some roles, phones and emails) arrive masked. A role that may see
 * the original asks for it on purpose, one message at a time; the hub audits each reveal.
 */
function MaskedText({ message }: { message: Message }) {
  const { t } = useTranslation('workspace');
  const { message: toast } = App.useApp();
  const reveal = useMutation({
    mutationFn: () => post<{ id: string; text: string | null }>(`/messages/${message.id}/reveal`),
    onError: (error) => void toast.error(error.message),
  });
  return (
    <div className="ws-text">
      {reveal.data?.text ?? message.text}
      {!reveal.data && message.revealable && (
        <Button size="small" type="link" icon={<EyeOutlined />} loading={reveal.isPending} onClick={() => reveal.mutate()}>
          {t('reveal')}
        </Button>
      )}
    </div>
  );
}

function MessageBody({ message }: { message: Message }) {
  const { t } = useTranslation('workspace');
  const template = message.payload.template as { name?: string; variables?: Record<string, string> } | undefined;
  if (message.text && message.masked) return <MaskedText message={message} />;
  if (message.text) return <div className="ws-text">{message.text}</div>;
  if (template?.name) {
    return (
      <div className="ws-text">
        {t('templateSent', { name: template.name })}
        {template.variables && Object.keys(template.variables).length > 0 && (
          <Typography.Text type="secondary"> — {Object.entries(template.variables).map(([k, v]) => `${k}: ${v}`).join(', ')}</Typography.Text>
        )}
      </div>
    );
  }
  return <Typography.Text type="secondary">[{t(`content.${message.contentKind}`, { defaultValue: message.contentKind })}]</Typography.Text>;
}

function MessageItem({ message, channel, author }: { message: Message; channel: ChannelLook | undefined; author: string | undefined }) {
  const { t } = useTranslation('workspace');
  const note = isNote(message);
  const side = note ? 'note' : message.direction === 'inbound' ? 'in' : 'out';
  const who = note ? t('author.note') : t(`author.${message.authorKind}`);
  return (
    <article className={`ws-message ws-message-${side}`} aria-label={`${who} ${formatTime(message.createdAt)}`}>
      <div className="ws-message-meta">
        {note ? <LockOutlined /> : message.authorKind === 'bot' ? <RobotOutlined /> : null}
        <span className="ws-author">{who}</span>
        {author && <span className="ws-author-name">{author}</span>}
        {!note && channel && <ChannelBadge type={channel.type} name={channel.name} />}
        <time dateTime={message.createdAt} title={formatTime(message.createdAt)}>
          {dayjs(message.createdAt).format('HH:mm')}
        </time>
      </div>
      <MessageBody message={message} />
      <Attachments payload={message.payload} />
      {message.direction === 'outbound' && !note && (
        <div className="ws-message-status">
          <DeliveryStatus message={message} />
        </div>
      )}
    </article>
  );
}

const nearBottom = (el: HTMLElement) => el.scrollHeight - el.scrollTop - el.clientHeight < 48;

interface Props<M extends Message> {
  /** Oldest first. */
  messages: M[];
  loading: boolean;
  /** Earlier messages not loaded yet: read when the agent scrolls near the top. */
  older: { more: boolean; loading: boolean; load(): void };
  channels: Map<string, ChannelLook>;
  /** Staff names by user id, for who wrote a reply or a note. */
  authors: Map<string, string>;
  /** The log's accessible name; the conversation's messages by default. */
  label?: string;
  /** What goes above a message besides the day it starts, given the one before it (a conversation's start in a contact's history). */
  divider?(message: M, previous: M | undefined): ReactNode;
}

/**
 * The conversation's messages in a virtual window: two thousand messages keep a few dozen in the
 * page. It opens at the newest and reads older pages as the agent scrolls up, keeping the message
 * they were reading in place; while they read further up, new messages wait behind a marker
 * instead of pulling the page down.
 */
export function Timeline<M extends Message>({ messages, loading, older, channels, authors, label, divider }: Props<M>) {
  const { t } = useTranslation('workspace');
  const scrollRef = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const ends = useRef<{ first?: string; last?: string }>({});
  const [unseen, setUnseen] = useState(0);

  const virtualizer = useVirtualizer({
    count: messages.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => 72,
    overscan: 6,
    getItemKey: (index) => messages[index]?.id ?? index,
  });

  /**
   * Whether the log has reached the newest message since it opened. Until then no older page is
   * read: a log that starts at the top would otherwise ask for one before it ever shows the end.
   */
  const settled = useRef(false);
  const loadOlder = useRef(older);
  loadOlder.current = older;
  /** The animation frame of a scroll to the end still following rows as they are measured. */
  const following = useRef<number | null>(null);

  const stopFollowing = () => {
    if (following.current !== null) cancelAnimationFrame(following.current);
    following.current = null;
  };

  /**
   * Scrolls to the end and stays there, frame by frame, until the height stops changing: rows
   * are measured only once rendered, so the end moves as the last rows come into view.
   */
  const followEnd = () => {
    const el = scrollRef.current;
    stopFollowing();
    atBottom.current = true;
    setUnseen(0);
    if (!el) return;
    const started = performance.now();
    let height = -1;
    let stable = 0;
    const step = () => {
      following.current = null;
      const end = el.scrollHeight - el.clientHeight;
      const landed = Math.abs(el.scrollTop - end) <= 1;
      if (!landed) el.scrollTop = end;
      // A log not laid out yet (no height) has not landed anywhere.
      stable = landed && el.clientHeight > 0 && el.scrollHeight === height ? stable + 1 : 0;
      height = el.scrollHeight;
      if (stable >= 5 || performance.now() - started > 5_000) {
        settled.current = true;
        atBottom.current = nearBottom(el);
        // A log too short to scroll reads its older page now; no scroll will ask for it.
        const { more, loading: busy, load } = loadOlder.current;
        if (el.scrollTop < 400 && more && !busy) load();
        return;
      }
      following.current = requestAnimationFrame(step);
    };
    step();
  };
  useEffect(() => stopFollowing, []);

  useLayoutEffect(() => {
    const previous = ends.current;
    ends.current = { first: messages[0]?.id, last: messages.at(-1)?.id };
    if (!messages.length) {
      // Another conversation is loading: it opens at its own end.
      settled.current = false;
      stopFollowing();
      return;
    }
    const el = scrollRef.current;
    const lastIndex = previous.last ? messages.findIndex((m) => m.id === previous.last) : -1;
    if (lastIndex < 0) {
      // A log just opened (or another conversation's): start at the newest message.
      settled.current = false;
      followEnd();
      return;
    }
    // Older messages went in above: move down by their height so the message read stays in place.
    const firstIndex = previous.first ? messages.findIndex((m) => m.id === previous.first) : -1;
    if (firstIndex > 0 && el && following.current === null) {
      el.scrollTop += virtualizer.measurementsCache[firstIndex]?.start ?? 0;
    }
    if (lastIndex === messages.length - 1) {
      // Shown again after a suspense hid the log (its layout effects run again, its scroll was lost
      // with display: none): back to the end unless the agent had scrolled up.
      if (el && (!settled.current || atBottom.current) && following.current === null && !nearBottom(el)) followEnd();
      return;
    }
    if (atBottom.current || following.current !== null) {
      followEnd();
    } else {
      const fromOthers = messages.slice(lastIndex + 1).filter((m) => m.direction === 'inbound').length;
      if (fromOthers) setUnseen((n) => n + fromOthers);
    }
  }, [messages]);

  /**
   * Where the agent had scrolled to. A suspense that hides the log (display: none) loses its scroll
   * position; React runs the layout effects again when it shows the log, which puts it back.
   */
  const readingAt = useRef<number | null>(null);
  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (el && settled.current && !atBottom.current && readingAt.current !== null && el.scrollTop !== readingAt.current) el.scrollTop = readingAt.current;
  }, []);

  useEffect(() => {
    const el = scrollRef.current;
    if (!el) return;
    const onScroll = () => {
      // A hidden log scrolls to 0 by itself: that is not the agent's reading position.
      if (el.clientHeight > 0) readingAt.current = el.scrollTop;
      // The log's own scroll to the end: neither the agent reading up nor a reason to read older pages.
      if (following.current !== null || !settled.current) return;
      atBottom.current = nearBottom(el);
      if (atBottom.current) setUnseen(0);
      const { more, loading: busy, load } = loadOlder.current;
      if (el.scrollTop < 400 && more && !busy) load();
    };
    // The agent takes over: a wheel, a touch or a key stops the scroll to the end.
    const takeOver = () => {
      if (following.current === null) return;
      stopFollowing();
      settled.current = true;
    };
    el.addEventListener('scroll', onScroll, { passive: true });
    for (const type of ['wheel', 'touchstart', 'keydown', 'pointerdown'] as const) el.addEventListener(type, takeOver, { passive: true });
    return () => {
      el.removeEventListener('scroll', onScroll);
      for (const type of ['wheel', 'touchstart', 'keydown', 'pointerdown'] as const) el.removeEventListener(type, takeOver);
    };
  }, []);

  // Rows measured after the log landed at its end change its height: an agent at the end stays there.
  const totalSize = virtualizer.getTotalSize();
  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (el && settled.current && atBottom.current && following.current === null) el.scrollTop = el.scrollHeight - el.clientHeight;
  }, [totalSize]);

  const items = virtualizer.getVirtualItems();
  return (
    <div className="ws-timeline-wrap">
      <div ref={scrollRef} className="ws-timeline" role="log" aria-label={label ?? t('timeline')} aria-live="polite" tabIndex={0}>
        {loading && <Spin className="page-spin" />}
        {!loading && !messages.length && <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('noMessages')} />}
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {items.map((item) => {
            const message = messages[item.index]!;
            const previous = messages[item.index - 1];
            const showDay = !previous || !dayjs(previous.createdAt).isSame(message.createdAt, 'day');
            return (
              <div key={item.key} data-index={item.index} ref={virtualizer.measureElement} className="ws-virtual-row" style={{ transform: `translateY(${item.start}px)` }}>
                <div className="ws-message-slot">
                  {divider?.(message, previous)}
                  {showDay && (
                    <div className="ws-day" role="separator">
                      {dayjs(message.createdAt).format('YYYY-MM-DD dddd')}
                    </div>
                  )}
                  <MessageItem message={message} channel={channels.get(message.channelId)} author={message.authorId ? authors.get(message.authorId) : undefined} />
                </div>
              </div>
            );
          })}
        </div>
      </div>
      {older.loading && <Spin size="small" className="ws-older-spin" aria-label={t('loadingOlder')} />}
      {unseen > 0 && (
        <Button type="primary" shape="round" size="small" icon={<DownOutlined />} className="ws-new-marker" onClick={followEnd}>
          {t('newMessages', { count: unseen })}
        </Button>
      )}
    </div>
  );
}
