import { ArrowLeftOutlined, CheckOutlined, IdcardOutlined, RedoOutlined, SwapOutlined, UserAddOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Result, Segmented, Space, Spin, Tag, Tooltip, Typography } from 'antd';
import { useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { get, post } from '../api/client';
import { useUser } from '../auth/AuthProvider';
import { useLiveEvents } from '../live/LiveFeed';
import { ChannelBadge } from '../shared/channel-types';
import { fromNow } from '../shared/time';
import { Composer } from './Composer';
import { ContactHistory } from './ContactHistory';
import { ContactName, priorityColor } from './ConversationList';
import { placeConversation, useColleagues, useConversation, useMessages, useReachableChannels, useTeams, workspaceKeys } from './queries';
import { SlaClock } from './SlaClock';
import { Timeline } from './Timeline';
import { TransferModal } from './TransferModal';
import { contactNameOf, type Contact, type Conversation } from './types';

interface Transfer {
  id: string;
  toAgentId: string | null;
  toTeamId: string | null;
  note: string | null;
  createdAt: string;
}

interface Props {
  conversationId: string;
  onBack(): void;
  onShowContact(): void;
  narrow: boolean;
}

/**
 * The open conversation's contact: the name its list row carried, else the contact as the contact
 * panel reads it (the same query, so no second request). Only for a conversation the API has just
 * shown the agent, whose contact they may therefore see; a refusal is not asked again.
 */
function ConversationTitle({ conversation }: { conversation: Conversation }) {
  const given = contactNameOf(conversation);
  const contact = useQuery({
    queryKey: ['contacts', conversation.contactId],
    enabled: !given,
    queryFn: () => get<Contact>(`/contacts/${conversation.contactId}`),
    staleTime: 300_000,
    retry: false,
  });
  const known = given ?? contact.data?.name ?? contact.data?.identities[0]?.value;
  return known ? <>{known}</> : <ContactName conversation={conversation} />;
}

/** One conversation: who and where, its messages, the reply box and what the agent can do with it. */
export function ConversationView({ conversationId, onBack, onShowContact, narrow }: Props) {
  const { t } = useTranslation('workspace');
  const { message } = App.useApp();
  const user = useUser();
  const queryClient = useQueryClient();
  const conversation = useConversation(conversationId);
  const messages = useMessages(conversationId);
  const reachable = useReachableChannels(conversationId);
  const teams = useTeams();
  const [transferring, setTransferring] = useState(false);
  const [customerTyping, setCustomerTyping] = useState<number>();
  // Remembered per conversation: opening another one, from the history's links too, starts at its own messages.
  const [historyOf, setHistoryOf] = useState<string>();
  const showHistory = historyOf === conversationId;
  const transfers = useQuery({
    queryKey: ['workspace', 'transfers', conversationId],
    queryFn: () => get<{ items: Transfer[] }>(`/conversations/${conversationId}/transfers`),
  });

  useLiveEvents((event) => {
    if (event.type === 'visitor.typing' && event.conversationId === conversationId) setCustomerTyping(Date.now());
    if (event.type === 'message.created' && event.conversationId === conversationId && event.direction === 'inbound') {
      setCustomerTyping(undefined);
      // The customer writing opens a channel's service window again.
      void queryClient.invalidateQueries({ queryKey: workspaceKeys.channels(conversationId) });
    }
    if (event.type === 'conversation.assigned' && event.conversationId === conversationId) void transfers.refetch();
  });
  // The widget repeats its typing hint while the customer types; silence for a while means they stopped.
  useEffect(() => {
    if (customerTyping === undefined) return;
    const timer = setTimeout(() => setCustomerTyping(undefined), 6_000);
    return () => clearTimeout(timer);
  }, [customerTyping]);
  const typingShown = customerTyping !== undefined;

  const channels = useMemo(() => new Map((reachable.data?.items ?? []).map((c) => [c.channelId, c])), [reachable.data]);
  const colleagues = useColleagues();
  const authors = useMemo(() => new Map((colleagues.data?.items ?? []).map((a) => [a.userId, a.name ?? ''])), [colleagues.data]);

  const act = useMutation({
    mutationFn: ({ path, body }: { path: string; body?: unknown }) => post<Conversation>(`/conversations/${conversationId}/${path}`, body),
    onSuccess: (updated) => updatedConversation(updated),
    onError: (error) => void message.error(error.message),
  });

  function updatedConversation(updated: Conversation) {
    placeConversation(queryClient, updated);
    void queryClient.invalidateQueries({ queryKey: workspaceKeys.messages(conversationId) });
    void transfers.refetch();
  }

  if (conversation.isLoading) return <Spin className="page-spin" />;
  if (conversation.isError || !conversation.data) return <Result status="warning" title={conversation.error?.message ?? t('notFound')} />;
  const c = conversation.data;
  const mine = c.assigneeId === user.id;
  const manager = user.role !== 'agent';
  const team = teams.data?.items.find((item) => item.id === c.teamId);
  const lastTransfer = transfers.data?.items.at(-1);
  const channelTypes = [...new Set(c.seenChannelIds.map((id) => channels.get(id)?.type).filter((type): type is string => !!type))];

  return (
    <section className="ws-conversation" aria-label={t('conversationTitle')}>
      <header className="ws-conv-header">
        <Space size={8} wrap className="ws-conv-title">
          {narrow && <Button type="text" icon={<ArrowLeftOutlined />} aria-label={t('backToList')} onClick={onBack} />}
          <Typography.Title level={5} className="ws-conv-name">
            <ConversationTitle conversation={c} />
          </Typography.Title>
          {channelTypes.map((type) => (
            <ChannelBadge key={type} type={type} />
          ))}
          <Tag color={c.status === 'resolved' ? 'default' : 'green'}>{t(`status.${c.status}`)}</Tag>
          {c.priority !== 1 && <Tag color={priorityColor[c.priority]}>{t(`priority.${c.priority}`)}</Tag>}
          {c.routingStatus === 'queued' && <Tag color="gold">{t('routing.queued')}</Tag>}
          {team && <Tag>{team.name}</Tag>}
          {c.status !== 'resolved' && <SlaClock conversationId={conversationId} />}
          <Typography.Text type="secondary" className="ws-conv-assignee">
            {mine ? t('assignedToMe') : c.assigneeId ? t('assignedToOther') : t('unassigned')}
          </Typography.Text>
          <Segmented
            size="small"
            aria-label={t('history.view')}
            value={showHistory ? 'history' : 'conversation'}
            onChange={(value) => setHistoryOf(value === 'history' ? conversationId : undefined)}
            options={[
              { value: 'conversation', label: t('history.thisConversation') },
              { value: 'history', label: t('history.all') },
            ]}
          />
        </Space>
        <Space size={4} wrap className="ws-conv-actions">
          {!mine && c.status !== 'resolved' && (manager || !c.assigneeId) && (
            <Button icon={<UserAddOutlined />} loading={act.isPending && act.variables?.path === 'transfer'} onClick={() => act.mutate({ path: 'transfer', body: { agentId: user.id } })}>
              {t('actions.assignToMe')}
            </Button>
          )}
          {c.status !== 'resolved' && (mine || manager) && (
            <Button icon={<SwapOutlined />} onClick={() => setTransferring(true)}>
              {t('actions.transfer')}
            </Button>
          )}
          {c.status !== 'resolved' && (mine || manager) && (
            <Button type="primary" ghost icon={<CheckOutlined />} loading={act.isPending && act.variables?.path === 'resolve'} onClick={() => act.mutate({ path: 'resolve' })}>
              {t('actions.resolve')}
            </Button>
          )}
          {c.status === 'resolved' && (
            <Button icon={<RedoOutlined />} loading={act.isPending && act.variables?.path === 'reopen'} onClick={() => act.mutate({ path: 'reopen' })}>
              {t('actions.reopen')}
            </Button>
          )}
          {narrow && (
            <Tooltip title={t('contact.title')}>
              <Button icon={<IdcardOutlined />} aria-label={t('contact.title')} onClick={onShowContact} />
            </Tooltip>
          )}
        </Space>
      </header>
      {lastTransfer?.note && c.status !== 'resolved' && (
        <Alert
          type="info"
          showIcon
          className="ws-transfer-note"
          title={
            <>
              <Typography.Text strong>{t('transfer.noteFrom', { when: fromNow(lastTransfer.createdAt) })}</Typography.Text> {lastTransfer.note}
            </>
          }
        />
      )}
      {showHistory ? (
        <ContactHistory key="history" conversation={c} channels={channels} authors={authors} />
      ) : (
        <Timeline
          key="conversation"
          messages={messages.messages}
          loading={messages.isLoading}
          older={{ more: messages.hasNextPage, loading: messages.isFetchingNextPage, load: () => void messages.fetchNextPage() }}
          channels={channels}
          authors={authors}
        />
      )}
      <div className="ws-typing" aria-live="polite">
        {typingShown ? t('customerTyping') : ''}
      </div>
      <Composer conversationId={conversationId} channels={reachable.data?.items ?? []} lastChannelId={c.lastChannelId} disabled={false} />
      <TransferModal
        conversation={c}
        open={transferring}
        onClose={() => setTransferring(false)}
        onDone={(updated) => {
          setTransferring(false);
          updatedConversation(updated);
        }}
      />
    </section>
  );
}
