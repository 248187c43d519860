import { and, desc, eq, isNull, isNotNull, lt, or, sql } from 'drizzle-orm';
import type { AdapterRegistry } from '../channels/contract.js';
import { queryRows, type Db } from '../db/client.js';
import { botSessions, channels, conversations, messages, type ContentKind } from '../db/schema.js';
import { HubError, notFound } from '../errors.js';
import { outboundMessageCreated, type DomainEvent } from '../events.js';
import { queueOutboundMessage } from '../messages/outbound.js';
import { markHandedOver } from '../routing/routing-actions.js';
import { composeAnswer, decideBotAction, type BotDecision } from './bot-decision.js';
import { resolveBotSettings, type BotSettings } from './bot-settings.js';
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
  const context = await readTurnContext(deps.db, trigger);
  if (context.silent) return [];
  const { settings, message, channelType } = context;
  // Follow/unfollow and similar events are not questions: only the no-bot handover applies to them.
  const question = message?.direction === 'inbound' && message.contentKind !== 'event' ? message : undefined;
  const kb = settings.enabled && question?.text ? await deps.kb.snapshot() : undefined;
  const replyKey = question ? `bot:${question.id}` : undefined;

  return deps.db.transaction(async (tx) => {
    // Creates the session or locks the existing one in one statement; the conversation's assignee
    // rides along, read in the same statement.
    const [session] = await tx
      .insert(botSessions)
      .values({ conversationId: trigger.conversationId })
      .onConflictDoUpdate({ target: botSessions.conversationId, set: { conversationId: sql`excluded.conversation_id` } })
      .returning({
        state: botSessions.state,
        failures: botSessions.failures,
        assigneeId: sql<string | null>`(select ${conversations.assigneeId} from ${conversations} where ${conversations.id} = ${trigger.conversationId})`,
      });
    if (!session) throw notFound('conversation', trigger.conversationId);

    const [previousReply] = replyKey ? await tx.select().from(messages).where(eq(messages.idempotencyKey, replyKey)) : [];
    let turn: TurnResult = { reply: previousReply };
    if (!previousReply && (question || !settings.enabled)) {
      const decision = decideBotAction({
        settings,
        withPerson: session.state === 'handed_over' || session.assigneeId !== null,
        failures: session.failures,
        text: question?.text ?? null,
        match: (text) => kb?.index.match(text, 1)[0],
      });
      turn = await applyDecision(tx, deps.adapters, { trigger, decision, kb, settings, replyKey, channelType });
    }

    const events: DomainEvent[] = [];
    if (turn.reply) events.push(outboundMessageCreated(turn.reply));
    // A handover decided in this turn claimed its announcement already; otherwise one decided by
    // an earlier turn whose announcement never went out is claimed here.
    const handover = turn.handover ?? (await claimAnnouncement(tx, trigger.conversationId));
    if (handover) {
      events.push({ type: 'conversation.handover', conversationId: trigger.conversationId, priority: handover.priority ?? 1, reason: handover.reason ?? 'no_bot' });
    }
    return events;
  });
}

interface TurnContextRow extends Record<string, unknown> {
  botEnabled: boolean | null;
  botSettings: Record<string, unknown> | null;
  channelType: string | null;
  handedOver: boolean;
  announced: boolean;
  answered: boolean;
  messageId: string | null;
  text: string | null;
  contentKind: ContentKind | null;
  direction: 'inbound' | 'outbound' | null;
}

/**
 * What a turn needs before taking the session's lock, in one read: the channel's bot settings,
 * the customer message, and whether the turn can be skipped. Most customer messages arrive after
 * the handover was announced, when the bot has nothing to say or announce; a message the bot did
 * answer (before the handover) still takes the full turn, which re-announces its reply. Every
 * event of a conversation runs this read, so it is written as SQL rather than built per call.
 */
async function readTurnContext(db: Db, trigger: BotTrigger) {
  const [row] = await queryRows<TurnContextRow>(
    db,
    sql`select bs.enabled as "botEnabled", bs.settings as "botSettings", ch.type as "channelType",
        coalesce(s.state = 'handed_over', false) as "handedOver", s.announced_at is not null as announced,
        ${trigger.messageId ? sql`exists (select 1 from messages a where a.idempotency_key = ${`bot:${trigger.messageId}`})` : sql`false`} as answered,
        m.id as "messageId", m.text, m.content_kind as "contentKind", m.direction
      from conversations c
      left join channels ch on ch.id = ${trigger.channelId}
      left join bot_settings bs on bs.channel_id = ${trigger.channelId}
      left join bot_sessions s on s.conversation_id = c.id
      left join messages m on m.id = ${trigger.messageId ?? null}
      where c.id = ${trigger.conversationId}`,
  );
  if (!row) throw notFound('conversation', trigger.conversationId);
  const silent = Boolean(trigger.messageId) && row.handedOver && row.announced && !row.answered;
  const stored = row.botEnabled === null ? undefined : { enabled: row.botEnabled, settings: row.botSettings ?? {} };
  const message = row.messageId ? { id: row.messageId, text: row.text, contentKind: row.contentKind!, direction: row.direction! } : undefined;
  return { silent, settings: resolveBotSettings(stored), channelType: row.channelType, message };
}

type MessageRow = typeof messages.$inferSelect;
interface TurnResult {
  reply?: MessageRow | undefined;
  /** A handover decided in this turn, its announcement already claimed. */
  handover?: { priority: number | null; reason: string | null } | undefined;
}

/** Leases the announcement of a handover nobody announced (or whose announcer died) to this turn. */
async function claimAnnouncement(tx: Db, conversationId: string) {
  const [claimed] = await tx
    .update(botSessions)
    .set({ announceClaimedAt: sql`now()` })
    .where(
      and(
        eq(botSessions.conversationId, conversationId),
        eq(botSessions.state, 'handed_over'),
        isNull(botSessions.announcedAt),
        or(isNull(botSessions.announceClaimedAt), lt(botSessions.announceClaimedAt, sql`now() - make_interval(secs => ${announceLeaseMs / 1000})`)),
      ),
    )
    .returning({ priority: botSessions.handoverPriority, reason: botSessions.handoverReason });
  return claimed;
}

/** Records the decision and queues the bot's reply; returns the reply, if there is one, and the handover. */
async function applyDecision(
  tx: Db,
  adapters: AdapterRegistry,
  turn: {
    trigger: BotTrigger;
    decision: BotDecision;
    kb: KbSnapshot | undefined;
    settings: BotSettings;
    replyKey: string | undefined;
    channelType: string | null;
  },
): Promise<TurnResult> {
  const { trigger, decision, settings } = turn;
  const reply = async (text: string, payload: Record<string, unknown>) => {
    try {
      return await queueOutboundMessage(tx, adapters, {
        conversationId: trigger.conversationId,
        channelId: trigger.channelId,
        authorKind: 'bot',
        text,
        payload: { bot: payload },
        idempotencyKey: turn.replyKey,
      });
    } catch (error) {
      // A customer the channel cannot reach (or a channel just disabled) gets no reply, but the
      // decision still stands: a handover must not wait on a message nobody can receive.
      if (error instanceof HubError) return undefined;
      throw error;
    }
  };
  switch (decision.action) {
    case 'silent':
      return {};
    case 'answer': {
      const article = turn.kb?.articles.get(decision.articleId);
      if (!article) return {};
      return { reply: await reply(composeAnswer(article, turn.channelType ?? '', settings), { kind: 'answer', articleId: article.id, score: decision.score }) };
    }
    case 'fallback':
      await tx.update(botSessions).set({ failures: decision.failures, updatedAt: sql`now()` }).where(eq(botSessions.conversationId, trigger.conversationId));
      return { reply: await reply(settings.fallbackText, { kind: 'fallback', failures: decision.failures }) };
    case 'handover': {
      // The session was not handed over before (the decision is silent then), so nobody has
      // claimed its announcement: this turn claims it in the same statement. The conversation is
      // marked as handed over in that statement too, so routing's sweeper finds it even if the
      // announcement is lost; the bot announces it.
      const marked = tx.$with('marked').as(markHandedOver(tx, { conversationId: trigger.conversationId, priority: decision.priority }));
      await tx
        .with(marked)
        .update(botSessions)
        .set({
          state: 'handed_over',
          handoverReason: decision.reason,
          handoverPriority: decision.priority,
          handedOverAt: sql`now()`,
          announceClaimedAt: sql`now()`,
          ...(decision.failures === undefined ? {} : { failures: decision.failures }),
          updatedAt: sql`now()`,
        })
        .where(eq(botSessions.conversationId, trigger.conversationId));
      const handover = { priority: decision.priority, reason: decision.reason };
      return decision.notify ? { reply: await reply(settings.handoverText, { kind: 'handover', reason: decision.reason }), handover } : { handover };
    }
  }
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
