import { useInfiniteQuery, useQuery, useQueryClient, type InfiniteData, type QueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useRef, useState } from 'react';
import { get, type Page } from '../api/client';
import { useLiveEvents, type LiveEvent } from '../live/LiveFeed';
import type { AgentProfile, Conversation, HistoryEntry, HistoryMessage, Message, MessageStatus, ReachableChannels, Team } from './types';

export type ListTab = 'mine' | 'queue' | 'teams' | 'all';
export const listTabs: readonly ListTab[] = ['mine', 'queue', 'teams', 'all'];

export interface ListFilters {
  status?: string;
  channelId?: string;
  priority?: number;
  q?: string;
}

/** What one list asks the API for (GET /conversations); also what a live change is checked against. */
export interface ListQuery extends ListFilters {
  view?: 'mine' | 'queue' | 'all';
  teamId?: string;
  /** The signed-in user, for judging `mine` in the browser; not sent. */
  me: string;
}

export const workspaceKeys = {
  lists: ['workspace', 'conversations'] as const,
  list: (query: ListQuery) => ['workspace', 'conversations', query] as const,
  conversation: (id: string) => ['workspace', 'conversation', id] as const,
  messages: (id: string) => ['workspace', 'messages', id] as const,
  histories: ['workspace', 'history'] as const,
  history: (contactId: string) => ['workspace', 'history', contactId] as const,
  channels: (id: string) => ['workspace', 'channels', id] as const,
  sla: (id: string) => ['workspace', 'sla', id] as const,
};

export function listQueryFor(tab: ListTab, filters: ListFilters, me: string, teamId: string | undefined): ListQuery {
  const base: ListQuery = { ...filters, q: filters.q || undefined, me };
  if (tab === 'teams') return { ...base, teamId };
  return { ...base, view: tab };
}

const pageSize = 50;

/** A list, page by page as far as the keyset cursor leads, each row with its contact and last message. */
export function useConversationList(query: ListQuery, enabled = true) {
  return useInfiniteQuery({
    queryKey: workspaceKeys.list(query),
    enabled,
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) => {
      const { me: _me, ...params } = query;
      return get<Page<Conversation>>('/conversations', { ...params, limit: pageSize, cursor: pageParam });
    },
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    staleTime: 60_000,
  });
}

/** Whether a conversation belongs in a list, judged in the browser so a live change needs no refetch. */
function belongs(query: ListQuery, c: Conversation) {
  if (query.view === 'mine' && c.assigneeId !== query.me) return false;
  if (query.view === 'queue' && c.routingStatus !== 'queued') return false;
  if (query.teamId && c.teamId !== query.teamId) return false;
  if (query.status && c.status !== query.status) return false;
  if (query.channelId && c.lastChannelId !== query.channelId) return false;
  if (query.priority !== undefined && c.priority !== query.priority) return false;
  return true;
}

const compare = (a: string | number | null, b: string | number | null) => (a === b ? 0 : a === null ? 1 : b === null ? -1 : a < b ? -1 : 1);
/** The API's orders: the queue in line order, every other list most recently active first. */
const listOrder = (query: ListQuery) =>
  query.view === 'queue'
    ? (a: Conversation, b: Conversation) => compare(b.priority, a.priority) || compare(a.queuedAt, b.queuedAt) || compare(a.id, b.id)
    : (a: Conversation, b: Conversation) => compare(b.lastMessageAt, a.lastMessageAt) || compare(b.id, a.id);

/**
 * Puts a changed conversation where it now belongs in every list loaded: in place when it stays,
 * at its new place when it moved, out of lists it left. A list filtered by a search the browser
 * cannot judge is refetched instead.
 */
export function placeConversation(queryClient: QueryClient, fresh: Conversation) {
  for (const [key, data] of queryClient.getQueriesData<InfiniteData<Page<Conversation>>>({ queryKey: workspaceKeys.lists })) {
    if (!data) continue;
    const query = key[2] as ListQuery;
    if (query.q) {
      void queryClient.invalidateQueries({ queryKey: key, exact: true });
      continue;
    }
    const order = listOrder(query);
    const all = data.pages.flatMap((page) => page.items);
    const previous = all.find((c) => c.id === fresh.id);
    const merged: Conversation = { ...previous, ...fresh };
    const rest = all.filter((c) => c.id !== fresh.id);
    if (belongs(query, merged)) {
      // A conversation beyond everything loaded comes with the page that reaches it.
      const last = rest.at(-1);
      if (!previous && data.pages.at(-1)?.nextCursor && last && order(merged, last) > 0) continue;
      rest.push(merged);
      rest.sort(order);
    } else if (!previous) {
      continue;
    }
    // Page boundaries stay where the server put them; only the items move between them.
    let offset = 0;
    const pages = data.pages.map((page, index) => {
      const size = index === data.pages.length - 1 ? rest.length - offset : page.items.length;
      const items = rest.slice(offset, offset + size);
      offset += size;
      return { ...page, items };
    });
    queryClient.setQueryData<InfiniteData<Page<Conversation>>>(key, { ...data, pages });
  }
  queryClient.setQueryData(workspaceKeys.conversation(fresh.id), (old: Conversation | undefined) => ({ ...old, ...fresh }));
}

/** A conversation as a list row shows it: the contact's conversations are listed enriched, the one is found there. */
async function readRow(id: string, contactId: string | undefined): Promise<Conversation> {
  const plain = contactId ? undefined : await get<Conversation>(`/conversations/${id}`);
  const rows = await get<Page<Conversation>>('/conversations', { contactId: contactId ?? plain!.contactId, limit: 20 }).catch(() => undefined);
  return rows?.items.find((row) => row.id === id) ?? plain ?? get<Conversation>(`/conversations/${id}`);
}

/**
 * Keeps the lists and the open conversation current from the agent socket. Each changed
 * conversation is read once per burst of frames about it, then put in place.
 */
export function useWorkspaceLiveUpdates(openConversationId: string | undefined) {
  const queryClient = useQueryClient();
  const pending = useRef(new Map<string, ReturnType<typeof setTimeout>>());
  const queueRefresh = useRef<ReturnType<typeof setTimeout>>(undefined);
  useEffect(() => {
    const timers = pending.current;
    return () => {
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
      clearTimeout(queueRefresh.current);
    };
  }, []);

  useLiveEvents((event: LiveEvent) => {
    const id = event.conversationId;
    if (event.type === 'queue.changed') {
      // Every agent hears every queue change; a busy queue must not become a refetch storm.
      if (queueRefresh.current) return;
      queueRefresh.current = setTimeout(() => {
        queueRefresh.current = undefined;
        void queryClient.invalidateQueries({ queryKey: ['workspace', 'conversations', { view: 'queue' }] });
      }, 1_500);
      return;
    }
    if (!id || !['message.created', 'message.status', 'conversation.assigned', 'conversation.unassigned', 'conversation.updated'].includes(event.type)) return;
    if (id === openConversationId && event.type.startsWith('message.')) applyMessageFrame(queryClient, event, id);
    // A delivery status changes nothing a list row shows.
    if (event.type === 'message.status' || pending.current.has(id)) return;
    pending.current.set(
      id,
      setTimeout(() => {
        pending.current.delete(id);
        readRow(id, typeof event.contactId === 'string' ? event.contactId : undefined).then(
          (fresh) => placeConversation(queryClient, fresh),
          () => void queryClient.invalidateQueries({ queryKey: workspaceKeys.lists }),
        );
      }, 250),
    );
  });
}

export function useConversation(id: string | undefined) {
  return useQuery({
    queryKey: workspaceKeys.conversation(id ?? ''),
    enabled: !!id,
    queryFn: () => get<Conversation>(`/conversations/${id}`),
  });
}

const stillMoving = new Set(['queued', 'sending']);

/**
 * A conversation's messages read from its end, a page at a time as the agent scrolls back, and
 * returned oldest first. New messages and delivery changes come from the agent socket; while a
 * reply is still on its way the pages are read again now and then, in case a frame was missed.
 */
export function useMessages(conversationId: string | undefined) {
  const query = useInfiniteQuery({
    queryKey: workspaceKeys.messages(conversationId ?? ''),
    enabled: !!conversationId,
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) => get<Page<Message>>(`/conversations/${conversationId}/messages`, { order: 'desc', limit: 100, cursor: pageParam }),
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    refetchInterval: (q) => (q.state.data?.pages.some((page) => page.items.some((m) => m.direction === 'outbound' && stillMoving.has(m.status))) ? 30_000 : false),
  });
  const messages = useMemo(() => (query.data?.pages.flatMap((page) => page.items) ?? []).reverse(), [query.data]);
  return { ...query, messages };
}

/**
 * The contact's whole history across channels and conversations, read like a conversation: from
 * its end, a page at a time as the agent scrolls back, returned oldest first. Merges and undos
 * stay with the contact panel; here are the messages.
 */
export function useContactHistory(contactId: string | undefined) {
  const query = useInfiniteQuery({
    queryKey: workspaceKeys.history(contactId ?? ''),
    enabled: !!contactId,
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) => get<Page<HistoryEntry>>(`/contacts/${contactId}/timeline`, { order: 'desc', limit: 100, cursor: pageParam }),
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const messages = useMemo(
    () => (query.data?.pages.flatMap((page) => page.items).filter((entry): entry is HistoryMessage => entry.type === 'message') ?? []).reverse(),
    [query.data],
  );
  return { ...query, messages };
}

type EntryPages = InfiniteData<Page<Message | HistoryEntry>, string | undefined>;

/** How far along its way a message is: a later status never gives way to an earlier one read before it. */
const progress: Partial<Record<MessageStatus, number>> = { queued: 0, sending: 1, sent: 2, delivered: 3, read: 4 };
const isLater = (status: MessageStatus, than: MessageStatus) => {
  const [a, b] = [progress[status], progress[than]];
  // A failure (or a status off the way) is not overtaken by a frame about an earlier step.
  return a !== undefined && b !== undefined && a > b;
};

/**
 * Delivery statuses heard for messages not loaded yet. A reply is announced, sent and reported
 * over the socket while its own POST answer (or the read a `message.created` frame starts) is
 * still on its way; the status waits here for the message instead of being lost.
 */
const earlyStatuses = new WeakMap<QueryClient, Map<string, MessageStatus>>();
const earlyStatusesOf = (queryClient: QueryClient) => {
  let statuses = earlyStatuses.get(queryClient);
  if (!statuses) earlyStatuses.set(queryClient, (statuses = new Map()));
  return statuses;
};

const isLoaded = (queryClient: QueryClient, conversationId: string, id: string) =>
  !!queryClient.getQueryData<EntryPages>(workspaceKeys.messages(conversationId))?.pages.some((page) => page.items.some((m) => m.id === id));

/** Puts a message just sent or just heard of at the end of its conversation and of its contact's history, once. */
export function addMessage(queryClient: QueryClient, sent: Message) {
  const statuses = earlyStatusesOf(queryClient);
  const early = statuses.get(sent.id);
  const message = early && isLater(early, sent.status) ? { ...sent, status: early } : sent;
  const places: [readonly unknown[], Message | HistoryEntry][] = [
    [workspaceKeys.messages(message.conversationId), message],
    [workspaceKeys.history(message.contactId), { ...message, type: 'message' }],
  ];
  for (const [key, entry] of places) {
    queryClient.setQueryData<EntryPages>(key, (old) => {
      if (!old?.pages.length || old.pages.some((page) => page.items.some((m) => m.id === message.id))) return old;
      const [newest, ...rest] = old.pages;
      return { ...old, pages: [{ ...newest!, items: [entry, ...newest!.items] }, ...rest] };
    });
  }
  if (early && isLoaded(queryClient, message.conversationId, message.id)) statuses.delete(message.id);
}

/** Changes one loaded message in place (its delivery status), leaving every other row as it was. */
export function patchMessage(queryClient: QueryClient, conversationId: string, id: string, change: Partial<Message>) {
  const patch = (old: EntryPages | undefined) =>
    old && { ...old, pages: old.pages.map((page) => (page.items.some((m) => m.id === id) ? { ...page, items: page.items.map((m) => (m.id === id ? { ...m, ...change } : m)) } : page)) };
  queryClient.setQueryData(workspaceKeys.messages(conversationId), patch);
  // Whose history holds it is not in a status frame; a history without it stays as it was.
  queryClient.setQueriesData({ queryKey: workspaceKeys.histories }, patch);
}

/** A status frame: applied to the message when it is loaded, kept for it when it is still on its way. */
function applyStatus(queryClient: QueryClient, conversationId: string, id: string, status: MessageStatus) {
  if (isLoaded(queryClient, conversationId, id)) return patchMessage(queryClient, conversationId, id, { status });
  const statuses = earlyStatusesOf(queryClient);
  const known = statuses.get(id);
  if (known && !isLater(status, known)) return;
  statuses.set(id, status);
  // Only the latest few matter: a message not loaded within a few hundred frames never will be.
  if (statuses.size > 200) statuses.delete(statuses.keys().next().value!);
}

/** Statuses a frame says all there is to say about; a failure needs its reason, read from the API. */
const plainStatuses = new Set(['sending', 'sent', 'delivered', 'read']);

/** Applies a message frame of the open conversation to its loaded messages: one small read at most. */
function applyMessageFrame(queryClient: QueryClient, event: LiveEvent, conversationId: string) {
  const messageId = typeof event.messageId === 'string' ? event.messageId : undefined;
  if (!messageId) return void queryClient.invalidateQueries({ queryKey: workspaceKeys.messages(conversationId) });
  if (event.type === 'message.status' && typeof event.status === 'string' && plainStatuses.has(event.status)) {
    return applyStatus(queryClient, conversationId, messageId, event.status as MessageStatus);
  }
  get<Message>(`/messages/${messageId}`).then(
    // A failure read before its message was loaded comes in with its reason.
    (message) =>
      event.type === 'message.created' || !isLoaded(queryClient, conversationId, messageId)
        ? addMessage(queryClient, message)
        : patchMessage(queryClient, conversationId, messageId, message),
    () => void queryClient.invalidateQueries({ queryKey: workspaceKeys.messages(conversationId) }),
  );
}

export function useReachableChannels(conversationId: string | undefined) {
  return useQuery({
    queryKey: workspaceKeys.channels(conversationId ?? ''),
    enabled: !!conversationId,
    queryFn: () => get<ReachableChannels>(`/conversations/${conversationId}/channels`),
  });
}

export function useTeams() {
  return useQuery({ queryKey: ['teams'], queryFn: () => get<{ items: Team[] }>('/teams'), staleTime: 300_000 });
}

/** Every agent with name, presence and load: whom to transfer to, and who wrote a reply. */
export function useColleagues(enabled = true) {
  return useQuery({
    queryKey: ['agents', 'transfer-targets'],
    enabled,
    queryFn: () => get<{ items: AgentProfile[] }>('/agents/transfer-targets'),
    staleTime: 30_000,
  });
}

export function useMyProfile() {
  return useQuery({
    queryKey: ['agents', 'me'],
    queryFn: () => get<{ userId: string; presence: string; teamIds: string[] }>('/agents/me'),
    retry: false,
  });
}

/** The current time, ticking, for waiting times that grow while the screen is open. */
export function useNow(intervalMs = 15_000) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}
