import { markHandoverAnnounced, runBotTurn, type BotDeps } from '../core/bot/bot-responder.js';
import type { DomainEvent, DomainEventPublisher } from '../core/events.js';
import type { DomainEventHandler } from './domain-events.worker.js';

/**
 * The knowledge-base bot, first responder of every new conversation: runs a bot turn for each
 * customer message (and each opened conversation, so channels without a bot hand over at once),
 * then announces the bot's reply and any handover.
 */
export function createBotHandler(deps: BotDeps & { events: DomainEventPublisher }): DomainEventHandler {
  return async (event) => {
    if (!botWants(event)) return;
    const events = await runBotTurn(deps, {
      conversationId: event.conversationId,
      channelId: event.channelId,
      ...(event.type === 'message.created' ? { messageId: event.messageId } : {}),
    });
    await deps.events.publish(events);
    if (events.some((e) => e.type === 'conversation.handover')) await markHandoverAnnounced(deps.db, event.conversationId);
  };
}

/**
 * The bot acts on new conversations and on customer messages, except those stored after it
 * handed the conversation over and announced it: a new message has no reply of the bot's to
 * re-announce, so its turn would be silent.
 */
export function botWants(event: DomainEvent): event is BotEvent {
  return (event.type === 'message.created' && event.direction === 'inbound' && !event.afterHandover) || event.type === 'conversation.opened';
}
type BotEvent = Extract<DomainEvent, { type: 'message.created' | 'conversation.opened' }>;
