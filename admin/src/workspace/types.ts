/** The shapes the workspace reads from the REST API (server/api/routes.ts, routing.routes.ts, identity-routes.ts). */

export type ConversationStatus = 'open' | 'pending' | 'resolved';
export const conversationStatuses: readonly ConversationStatus[] = ['open', 'pending', 'resolved'];
export type RoutingStatus = 'queued' | 'assigned' | null;

export interface Conversation {
  id: string;
  contactId: string;
  status: ConversationStatus;
  /** 0 low, 1 normal, 2 high, 3 urgent. */
  priority: number;
  assigneeId: string | null;
  teamId: string | null;
  lastChannelId: string | null;
  lastMessageAt: string;
  resolvedAt: string | null;
  createdAt: string;
  routingStatus: RoutingStatus;
  queuedAt: string | null;
  assignedAt: string | null;
  seenChannelIds: string[];
  /** What a list row shows, as GET /conversations gives it (GET /conversations/:id leaves these out). */
  contact?: { id: string; name: string | null; tier: string | null } | null;
  lastChannel?: { id: string | null; type: string | null; name: string | null } | null;
  lastMessage?: {
    id: string | null;
    text: string | null;
    truncated: boolean | null;
    contentKind: string | null;
    direction: 'inbound' | 'outbound' | null;
    authorKind: string | null;
    at: string | null;
  } | null;
  team?: { id: string | null; name: string | null } | null;
  assignee?: { id: string | null; name: string | null } | null;
  /** Customer messages since an agent last replied (up to 99). */
  unansweredCount?: number;
}

export const priorities = [0, 1, 2, 3] as const;

export type MessageStatus = 'received' | 'queued' | 'sending' | 'sent' | 'delivered' | 'read' | 'failed' | 'unknown';

export interface Attachment {
  id?: string;
  attachmentId?: string;
  fileName?: string | null;
  name?: string | null;
  contentType?: string;
  size?: number;
}

export interface Message {
  id: string;
  conversationId: string;
  contactId: string;
  channelId: string;
  /** `internal`: a private note, seen only by staff. */
  direction: 'inbound' | 'outbound' | 'internal';
  authorKind: 'contact' | 'agent' | 'bot' | 'system';
  authorId: string | null;
  contentKind: string;
  text: string | null;
  payload: Record<string, unknown>;
  status: MessageStatus;
  errorCode: string | null;
  errorMessage: string | null;
  createdAt: string;
  sentAt: string | null;
  seq: number;
  /** The text had card or ID numbers (or, for this role, phones or emails) masked on the way out. */
  masked?: boolean;
  /** This user's role may ask for the original (POST /messages/:id/reveal, audited). */
  revealable?: boolean;
}

/** A message as the contact's timeline (GET /contacts/:id/timeline) lists it: with its channel and its conversation. */
export interface HistoryMessage extends Message {
  type: 'message';
  /** Absent on a message put in from the agent socket; the conversation's other messages carry it. */
  channel?: { type: string; name: string } | null;
  conversation?: { status: ConversationStatus; createdAt: string; channelId: string | null; channelType: string | null; channelName: string | null };
}

/** A timeline entry: a message, or a merge or its undo (not shown in the workspace). */
export type HistoryEntry = HistoryMessage | { type: 'contact.merged' | 'contact.merge_undone'; id?: undefined; at: string; mergeId: string };

export interface ReachableChannel {
  channelId: string;
  name: string;
  type: string;
  last: boolean;
  identity?: { id: string; kind: string; value: string; verified: boolean };
  /** The customer-service window, for channels that have one (WeChat), when the API reports it. */
  window?: { open: boolean; closesAt?: string | null } | null;
  templates?: { name: string; variables?: string[] }[];
}

export interface ReachableChannels {
  lastChannelId: string | null;
  seenChannelIds: string[];
  items: ReachableChannel[];
}

export interface Identity {
  id: string;
  kind: string;
  value: string;
  scope: string;
  verified: boolean;
  source: string;
  createdAt: string;
}

export interface Contact {
  id: string;
  name: string | null;
  language: string | null;
  timezone: string | null;
  tier: string | null;
  birthday: string | null;
  tags: string[];
  attributes: Record<string, unknown>;
  createdAt: string;
  mergedIntoId: string | null;
  identities: Identity[];
  resolvedFrom?: string;
}

export interface Team {
  id: string;
  name: string;
}

export interface AgentProfile {
  userId: string;
  name?: string | null;
  email?: string;
  presence: string;
  teamIds?: string[];
  teams?: string[];
  capacity?: number;
  activeCount?: number;
}

export interface Suggestion {
  articleId: string;
  title: string;
  score: number;
  answer: string;
  tags: string[];
}

export interface ContactMerge {
  id: string;
  survivorId: string;
  mergedId: string;
  rule: string | null;
  reason?: string | null;
  actorUserId?: string | null;
  createdAt: string;
  undoneAt: string | null;
}

export interface Duplicate {
  contactId: string;
  kind: string;
  value: string;
  reason: string;
  suggestedAt: string;
}

export const contactNameOf = (c: Conversation) => c.contact?.name ?? null;
export const channelTypeOf = (c: Conversation) => c.lastChannel?.type ?? null;
export const isNote = (m: Message) => m.direction === 'internal';
