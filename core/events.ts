/**
 * What happened in the domain, published after the transaction that made it true has committed.
 * Routing, SLA timers and the realtime fan-out consume these.
 */
export type DomainEvent =
  | { type: 'contact.created'; contactId: string }
  | { type: 'contact.merged'; mergeId: string; survivorId: string; mergedId: string }
  | { type: 'contact.merge_undone'; mergeId: string; survivorId: string; mergedId: string }
  | { type: 'conversation.opened'; conversationId: string; contactId: string; channelId: string }
  | {
      type: 'message.created';
      messageId: string;
      conversationId: string;
      contactId: string;
      channelId: string;
      /** `internal`: a staff note. It is only shown to staff: nothing sends it, and no handler answers it. */
      direction: 'inbound' | 'outbound' | 'internal';
      /** A customer message stored after the bot handed the conversation over and said so. */
      afterHandover?: boolean;
      /** Who wrote an outbound message: an agent's reply moves the SLA clocks, a bot's does not. */
      authorKind?: 'contact' | 'agent' | 'bot' | 'system';
    }
  | { type: 'message.status'; messageId: string; conversationId: string; status: string }
  /** The customer asked for a person (or a rule decided so): routing takes the conversation. */
  | { type: 'conversation.handover'; conversationId: string; priority: number; reason: string }
  /** Resolved by staff: SLA clocks stop, the satisfaction survey goes out. `agentId` had it. */
  | { type: 'conversation.resolved'; conversationId: string; agentId: string | null; resolvedBy: string }
  /** Reopened by staff: the resolution clock starts again. */
  | { type: 'conversation.reopened'; conversationId: string }
  /** An SLA warning or breach just recorded (live only: consoles show it, nothing handles it). */
  | {
      type: 'sla.warning' | 'sla.breached';
      conversationId: string;
      target: string;
      policyId: string;
      dueAt: string;
      assigneeId: string | null;
      teamId: string | null;
    };

export interface DomainEventPublisher {
  publish(events: DomainEvent[]): Promise<void>;
}

/** The announcement of an outbound message just queued: its delivery is dispatched with it. */
export function outboundMessageCreated(message: {
  id: string;
  conversationId: string;
  contactId: string;
  channelId: string;
  authorKind?: 'contact' | 'agent' | 'bot' | 'system';
}): DomainEvent {
  return {
    type: 'message.created',
    messageId: message.id,
    conversationId: message.conversationId,
    contactId: message.contactId,
    channelId: message.channelId,
    direction: 'outbound',
    ...(message.authorKind === 'agent' ? { authorKind: message.authorKind } : {}),
  };
}
