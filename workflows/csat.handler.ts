import { and, asc, eq } from 'drizzle-orm';
import { recordCsatReply, sendCsatSurvey, type CsatDeps } from '../core/csat/csat.js';
import { messages } from '../core/db/schema.js';
import type { DomainEvent, DomainEventPublisher } from '../core/events.js';
import type { DomainEventHandler } from './domain-events.worker.js';

/** Surveys resolved conversations; records customers' answers. */
export function csatWants(event: DomainEvent): boolean {
  return event.type === 'conversation.resolved' || event.type === 'conversation.opened' || (event.type === 'message.created' && event.direction === 'inbound');
}

export function createCsatHandler(deps: CsatDeps & { events: DomainEventPublisher }): DomainEventHandler {
  return async (event) => {
    if (event.type === 'conversation.resolved') {
      await deps.events.publish(await sendCsatSurvey(deps, event));
    } else if (event.type === 'message.created' && event.direction === 'inbound') {
      await recordCsatReply(deps.db, event.messageId);
    } else if (event.type === 'conversation.opened') {
      // The opening message is handled here, before the bot sees the new conversation.
      const [first] = await deps.db
        .select({ id: messages.id })
        .from(messages)
        .where(and(eq(messages.conversationId, event.conversationId), eq(messages.direction, 'inbound')))
        .orderBy(asc(messages.seq))
        .limit(1);
      if (first) await recordCsatReply(deps.db, first.id);
    }
  };
}
