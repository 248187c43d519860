import { Alert, Tag, Typography } from 'antd';
import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { ChannelBadge } from '../shared/channel-types';
import { formatTime } from '../shared/time';
import { useContactHistory } from './queries';
import { Timeline, type ChannelLook } from './Timeline';
import type { Conversation, HistoryMessage } from './types';

interface Props {
  /** The open conversation: its contact's history is shown, and it is marked as the one open. */
  conversation: Conversation;
  /** The open conversation's reply channels; the history names the others from its own entries. */
  channels: Map<string, ChannelLook>;
  authors: Map<string, string>;
}

type ConversationFacts = NonNullable<HistoryMessage['conversation']>;

function ConversationDivider({ id, facts, open, fallbackChannel }: { id: string; facts: ConversationFacts | undefined; open: boolean; fallbackChannel: ChannelLook | undefined }) {
  const { t } = useTranslation('workspace');
  const when = facts ? formatTime(facts.createdAt) : '';
  const channel = facts?.channelType ? { type: facts.channelType, name: facts.channelName ?? facts.channelType } : fallbackChannel;
  return (
    <div className="ws-conv-divider" role="group" aria-label={t('history.conversationOf', { when })}>
      <Typography.Text type="secondary">{t('history.startedAt', { when })}</Typography.Text>
      {channel && <ChannelBadge type={channel.type} name={channel.name} />}
      {facts && <Tag color={facts.status === 'resolved' ? 'default' : 'green'}>{t(`status.${facts.status}`)}</Tag>}
      {open ? (
        <Tag color="blue">{t('history.current')}</Tag>
      ) : (
        <Link to={`/workspace/${id}`} aria-label={t('history.openLabel', { when })}>
          {t('history.open')}
        </Link>
      )}
    </div>
  );
}

/**
 * Everything the contact wrote and was answered, on every channel and in every conversation, in
 * the conversation's own message list, with a divider where each conversation begins.
 */
export function ContactHistory({ conversation, channels, authors }: Props) {
  const { t } = useTranslation('workspace');
  const history = useContactHistory(conversation.contactId);

  const { facts, looks } = useMemo(() => {
    const facts = new Map<string, ConversationFacts>();
    const looks = new Map(channels);
    for (const m of history.messages) {
      if (m.conversation && !facts.has(m.conversationId)) facts.set(m.conversationId, m.conversation);
      if (m.channel && !looks.has(m.channelId)) looks.set(m.channelId, m.channel);
    }
    // The open conversation's status is the one its header shows, changed a moment ago perhaps.
    const open = facts.get(conversation.id);
    if (open) facts.set(conversation.id, { ...open, status: conversation.status });
    return { facts, looks };
  }, [history.messages, channels, conversation.id, conversation.status]);

  if (history.isError) return <Alert type="error" showIcon className="ws-history-error" title={history.error.message} />;
  return (
    <Timeline
      messages={history.messages}
      loading={history.isLoading}
      older={{ more: history.hasNextPage, loading: history.isFetchingNextPage, load: () => void history.fetchNextPage() }}
      channels={looks}
      authors={authors}
      label={t('history.log')}
      divider={(message, previous) =>
        previous?.conversationId === message.conversationId ? null : (
          <ConversationDivider id={message.conversationId} facts={facts.get(message.conversationId)} open={message.conversationId === conversation.id} fallbackChannel={looks.get(message.channelId)} />
        )
      }
    />
  );
}
