import { markHandoverAnnounced, runBotTurn, type BotDeps } from '../core/bot/bot-responder.js';
import type { DomainEventPublisher } from '../core/events.js';
import type { DomainEventHandler } from './domain-events.worker.js';

/**
 * The knowledge-base bot, first responder of every new conversation: runs a bot turn for each
 * customer message (and each opened conversation, so channels without a bot hand over at once),
 * then announces the bot's reply and any handover.
 */
export function createBotHandler(deps: BotDeps & { events: DomainEventPublisher }): DomainEventHandler {
  return async (event) => {
    if (event.type === 'message.created' && event.direction !== 'inbound') return;
    if (event.type !== 'message.created' && event.type !== 'conversation.opened') return;
    const events = await runBotTurn(deps, {
      conversationId: event.conversationId,
      channelId: event.channelId,
      ...(event.type === 'message.created' ? { messageId: event.messageId } : {}),
    });
    await deps.events.publish(events);
    if (events.some((e) => e.type === 'conversation.handover')) await markHandoverAnnounced(deps.db, event.conversationId);
  };
}
