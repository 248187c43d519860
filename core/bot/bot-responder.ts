import { and, desc, eq, isNull, isNotNull, lt, or, sql } from 'drizzle-orm';
import type { AdapterRegistry } from '../channels/contract.js';
import type { Db } from '../db/client.js';
import { botSessions, channels, conversations, messages } from '../db/schema.js';
import { HubError, notFound } from '../errors.js';
import { outboundMessageCreated, type DomainEvent } from '../events.js';
import { queueOutboundMessage } from '../messages/outbound.js';
import { recordHandover } from '../routing/routing-actions.js';
import { composeAnswer, decideBotAction, type BotDecision } from './bot-decision.js';
import { loadBotSettings, type BotSettings } from './bot-settings.js';
import type { KbCache, KbSnapshot } from './kb-articles.js';

export interface BotDeps {
  db: Db;
  adapters: AdapterRegistry;
  kb: KbCache;
}

/** What woke the bot: a new conversation, or a customer message in one. */
export interface BotTrigger {
  conversationId: string;
  channelId: string;
  messageId?: string;
}

// A worker that claimed the handover announcement and died leaves the claim; after this long
// another worker announces it instead.
const announceLeaseMs = 30_000;

/**
 * Runs the bot on one trigger, in one transaction with the conversation's bot session locked,
 * and returns the events to publish after commit: the bot's reply, and the handover while it
 * has not been announced. Idempotent: a reply is keyed by the customer message it answers, so a
 * retried turn finds it and counts no second failure.
 */
export async function runBotTurn(deps: BotDeps, trigger: BotTrigger): Promise<DomainEvent[]> {
  if (await silentAfterHandover(deps.db, trigger)) return [];
  const settings = await loadBotSettings(deps.db, trigger.channelId);
  const [message] = trigger.messageId
    ? await deps.db
        .select({ id: messages.id, text: messages.text, contentKind: messages.contentKind, direction: messages.direction })
        .from(messages)
        .where(eq(messages.id, trigger.messageId))
    : [];
  // Follow/unfollow and similar events are not questions: only the no-bot handover applies to them.
  const question = message?.direction === 'inbound' && message.contentKind !== 'event' ? message : undefined;
  const kb = settings.enabled && question?.text ? await deps.kb.snapshot() : undefined;
  const replyKey = question ? `bot:${question.id}` : undefined;

  return deps.db.transaction(async (tx) => {
    await tx.insert(botSessions).values({ conversationId: trigger.conversationId }).onConflictDoNothing();
    const [session] = await tx.select().from(botSessions).where(eq(botSessions.conversationId, trigger.conversationId)).for('update');
    const [conversation] = await tx
      .select({ assigneeId: conversations.assigneeId })
      .from(conversations)
      .where(eq(conversations.id, trigger.conversationId));
    if (!session || !conversation) throw notFound('conversation', trigger.conversationId);

    const [previousReply] = replyKey
      ? await tx.select({ id: messages.id }).from(messages).where(eq(messages.idempotencyKey, replyKey))
      : [];
    let replyId = previousReply?.id;
    if (!previousReply && (question || !settings.enabled)) {
      const decision = decideBotAction({
        settings,
        withPerson: session.state === 'handed_over' || conversation.assigneeId !== null,
        failures: session.failures,
        text: question?.text ?? null,
        match: (text) => kb?.index.match(text, 1)[0],
      });
      replyId = await applyDecision(tx, deps.adapters, { trigger, decision, kb, settings, replyKey });
    }

    const events: DomainEvent[] = [];
    if (replyId) {
      const [reply] = await tx.select().from(messages).where(eq(messages.id, replyId));
      if (reply) {
        events.push(outboundMessageCreated(reply));
      }
    }
    const [claimed] = await tx
      .update(botSessions)
      .set({ announceClaimedAt: sql`now()` })
      .where(
        and(
          eq(botSessions.conversationId, trigger.conversationId),
          eq(botSessions.state, 'handed_over'),
          isNull(botSessions.announcedAt),
          or(isNull(botSessions.announceClaimedAt), lt(botSessions.announceClaimedAt, sql`now() - make_interval(secs => ${announceLeaseMs / 1000})`)),
        ),
      )
      .returning({ priority: botSessions.handoverPriority, reason: botSessions.handoverReason });
    if (claimed) {
      events.push({ type: 'conversation.handover', conversationId: trigger.conversationId, priority: claimed.priority ?? 1, reason: claimed.reason ?? 'no_bot' });
    }
    return events;
  });
}

/** Records the decision and queues the bot's reply; returns the reply's id, if there is one. */
async function applyDecision(
  tx: Db,
  adapters: AdapterRegistry,
  turn: {
    trigger: BotTrigger;
    decision: BotDecision;
    kb: KbSnapshot | undefined;
    settings: BotSettings;
    replyKey: string | undefined;
  },
): Promise<string | undefined> {
  const { trigger, decision, settings } = turn;
  const reply = async (text: string, payload: Record<string, unknown>) => {
    try {
      const message = await queueOutboundMessage(tx, adapters, {
        conversationId: trigger.conversationId,
        channelId: trigger.channelId,
        authorKind: 'bot',
        text,
        payload: { bot: payload },
        idempotencyKey: turn.replyKey,
      });
      return message.id;
    } catch (error) {
      // A customer the channel cannot reach (or a channel just disabled) gets no reply, but the
      // decision still stands: a handover must not wait on a message nobody can receive.
      if (error instanceof HubError) return undefined;
      throw error;
    }
  };
  switch (decision.action) {
    case 'silent':
      return undefined;
    case 'answer': {
      const article = turn.kb?.articles.get(decision.articleId);
      if (!article) return undefined;
      const [channel] = await tx.select({ type: channels.type }).from(channels).where(eq(channels.id, trigger.channelId));
      return reply(composeAnswer(article, channel?.type ?? '', settings), { kind: 'answer', articleId: article.id, score: decision.score });
    }
    case 'fallback':
      await tx.update(botSessions).set({ failures: decision.failures, updatedAt: sql`now()` }).where(eq(botSessions.conversationId, trigger.conversationId));
      return reply(settings.fallbackText, { kind: 'fallback', failures: decision.failures });
    case 'handover': {
      await tx
        .update(botSessions)
        .set({
          state: 'handed_over',
          handoverReason: decision.reason,
          handoverPriority: decision.priority,
          handedOverAt: sql`now()`,
          ...(decision.failures === undefined ? {} : { failures: decision.failures }),
          updatedAt: sql`now()`,
        })
        .where(eq(botSessions.conversationId, trigger.conversationId));
      // Marks the handover on the conversation too (never lowering a priority already raised), so
      // routing's sweeper finds it even if the announcement below is lost; the bot announces it.
      await recordHandover(tx, { conversationId: trigger.conversationId, priority: decision.priority, reason: decision.reason });
      return decision.notify ? reply(settings.handoverText, { kind: 'handover', reason: decision.reason }) : undefined;
    }
  }
}

/**
 * Most customer messages arrive after the handover was announced, when the bot has nothing to
 * say or announce: two reads tell, instead of the locked turn. A message the bot did answer
 * (before the handover) still takes the full turn, which re-announces its reply.
 */
async function silentAfterHandover(db: Db, trigger: BotTrigger): Promise<boolean> {
  if (!trigger.messageId) return false;
  const [session] = await db
    .select({ state: botSessions.state, announcedAt: botSessions.announcedAt })
    .from(botSessions)
    .where(eq(botSessions.conversationId, trigger.conversationId));
  if (session?.state !== 'handed_over' || !session.announcedAt) return false;
  const [answered] = await db.select({ id: messages.id }).from(messages).where(eq(messages.idempotencyKey, `bot:${trigger.messageId}`));
  return !answered;
}

/** Marks the handover as announced once its event is published, so no later turn repeats it. */
export async function markHandoverAnnounced(db: Db, conversationId: string): Promise<void> {
  await db
    .update(botSessions)
    .set({ announcedAt: sql`now()` })
    .where(and(eq(botSessions.conversationId, conversationId), isNotNull(botSessions.announceClaimedAt), isNull(botSessions.announcedAt)));
}

/** The bot's state in a conversation, for the agent console: 'none' before the bot saw it. */
export async function getBotSession(db: Db, conversationId: string) {
  const [conversation] = await db.select({ id: conversations.id }).from(conversations).where(eq(conversations.id, conversationId));
  if (!conversation) throw notFound('conversation', conversationId);
  const [session] = await db.select().from(botSessions).where(eq(botSessions.conversationId, conversationId));
  return {
    conversationId,
    state: session?.state ?? 'none',
    failures: session?.failures ?? 0,
    handoverReason: session?.handoverReason ?? null,
    handoverPriority: session?.handoverPriority ?? null,
    handedOverAt: session?.handedOverAt ?? null,
  };
}

/**
 * Agent assist: the articles closest to the customer's last message, with their scores and the
 * answer as it would go out on the conversation's channel.
 */
export async function suggestArticles(deps: { db: Db; kb: KbCache }, conversationId: string, limit: number) {
  const [conversation] = await deps.db
    .select({ channelType: channels.type })
    .from(conversations)
    .leftJoin(channels, eq(channels.id, conversations.lastChannelId))
    .where(eq(conversations.id, conversationId));
  if (!conversation) throw notFound('conversation', conversationId);
  const [last] = await deps.db
    .select({ id: messages.id, text: messages.text })
    .from(messages)
    .where(and(eq(messages.conversationId, conversationId), eq(messages.direction, 'inbound'), isNotNull(messages.text)))
    .orderBy(desc(messages.seq))
    .limit(1);
  if (!last?.text) return { messageId: null, text: null, items: [] };
  const kb = await deps.kb.snapshot();
  const items = kb.index.match(last.text, limit).flatMap((match) => {
    const article = kb.articles.get(match.articleId);
    if (!article) return [];
    return [
      {
        articleId: article.id,
        title: article.title,
        score: match.score,
        answer: article.channelAnswers[conversation.channelType ?? ''] ?? article.answer,
        tags: article.tags,
      },
    ];
  });
  return { messageId: last.id, text: last.text, items };
}
