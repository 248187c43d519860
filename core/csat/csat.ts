import { and, asc, count, desc, eq, gt, isNull, lte, sql } from 'drizzle-orm';
import { z } from 'zod';
import { recordAudit } from '../audit.js';
import type { AdapterRegistry } from '../channels/contract.js';
import { currentConsent } from '../consents/consents.js';
import type { Db } from '../db/client.js';
import { contacts, conversations, csatSettings, csatSurveys, messages } from '../db/schema.js';
import { HubError } from '../errors.js';
import { outboundMessageCreated, type DomainEvent } from '../events.js';
import { queueOutboundMessage } from '../messages/outbound.js';
import { parseInput } from '../validation.js';

const surveyText = z.string().trim().min(1).max(500);

export const csatSettingsSchema = z.object({
  /** Off until an admin turns it on: a bank words its survey first. */
  enabled: z.boolean().default(false),
  /** A reply after this many hours is an ordinary message. */
  windowHours: z.number().min(0.01).max(24 * 14).default(24),
  /** By contact language: `en` for contacts whose language starts with en, `zh` for everyone else. */
  texts: z
    .object({
      zh: surveyText.default('您对本次服务满意吗？请回复数字 1–5 评分（5 = 非常满意），可在数字后附上您的意见。'),
      en: surveyText.default('How satisfied were you with our service? Reply with a number from 1 to 5 (5 = very satisfied), optionally followed by a comment.'),
    })
    .prefault({}),
});
export type CsatSettings = z.infer<typeof csatSettingsSchema>;

export const updateCsatSettingsInput = z.object({
  enabled: z.boolean().optional(),
  windowHours: z.number().min(0.01).max(24 * 14).optional(),
  texts: z.object({ zh: surveyText.optional(), en: surveyText.optional() }).optional(),
});

export async function getCsatSettings(db: Db): Promise<CsatSettings> {
  const [row] = await db.select().from(csatSettings).where(eq(csatSettings.id, 1));
  return csatSettingsSchema.parse(row?.settings ?? {});
}

export async function updateCsatSettings(db: Db, actorUserId: string, input: unknown): Promise<CsatSettings> {
  const change = parseInput(updateCsatSettingsInput, input);
  return db.transaction(async (tx) => {
    const current = await getCsatSettings(tx);
    const next = csatSettingsSchema.parse({ ...current, ...change, texts: { ...current.texts, ...change.texts } });
    await tx
      .insert(csatSettings)
      .values({ id: 1, settings: next })
      .onConflictDoUpdate({ target: csatSettings.id, set: { settings: next, updatedAt: sql`now()` } });
    await recordAudit(tx, { actorUserId, action: 'csat.settings.update', targetType: 'csat_settings', targetId: null, details: { fields: Object.keys(change) } });
    return next;
  });
}

export interface CsatDeps {
  db: Db;
  adapters: AdapterRegistry;
}

/**
 * Sends the satisfaction survey of a resolved conversation on the channel it was resolved on,
 * once, unless the contact opted out there. Answers the events to publish (the queued message).
 */
export async function sendCsatSurvey(deps: CsatDeps, event: Extract<DomainEvent, { type: 'conversation.resolved' }>): Promise<DomainEvent[]> {
  const settings = await getCsatSettings(deps.db);
  if (!settings.enabled) return [];
  const [conversation] = await deps.db
    .select({ contactId: conversations.contactId, channelId: conversations.lastChannelId, teamId: conversations.teamId, status: conversations.status, language: contacts.language })
    .from(conversations)
    .innerJoin(contacts, eq(contacts.id, conversations.contactId))
    .where(eq(conversations.id, event.conversationId));
  if (!conversation?.channelId || conversation.status !== 'resolved') return [];
  if ((await currentConsent(deps.db, conversation.contactId, conversation.channelId)) === 'opted_out') return [];
  const text = conversation.language?.toLowerCase().startsWith('en') ? settings.texts.en : settings.texts.zh;
  try {
    return await deps.db.transaction(async (tx) => {
      const [survey] = await tx
        .insert(csatSurveys)
        .values({
          conversationId: event.conversationId,
          contactId: conversation.contactId,
          channelId: conversation.channelId!,
          agentId: event.agentId,
          teamId: conversation.teamId,
          expiresAt: new Date(Date.now() + settings.windowHours * 3_600_000),
        })
        .onConflictDoNothing()
        .returning();
      if (!survey) return [];
      const message = await queueOutboundMessage(tx, deps.adapters, {
        conversationId: event.conversationId,
        channelId: conversation.channelId!,
        authorKind: 'system',
        text,
        payload: { csat: { surveyId: survey.id, scale: [1, 5] } },
        idempotencyKey: `csat:${survey.id}`,
      });
      await tx.update(csatSurveys).set({ messageId: message.id }).where(eq(csatSurveys.id, survey.id));
      return [outboundMessageCreated(message)];
    });
  } catch (error) {
    // The channel cannot reach the customer now (disabled, outside WeChat's window): no survey.
    if (error instanceof HubError) return [];
    throw error;
  }
}

/** `5`, `4 分`, `5 great service`, `３，很好` → rating and comment; anything else is not an answer. */
export function parseCsatReply(text: string | null): { rating: number; comment: string | null } | null {
  if (!text) return null;
  const normalized = text.normalize('NFKC').trim();
  const match = /^([1-5])(?![\d.])\s*(?:分|星|stars?)?\s*[,，.。:：;；!！-]?\s*([\s\S]*)$/iu.exec(normalized);
  if (!match) return null;
  const comment = match[2]!.trim().slice(0, 2000);
  return { rating: Number(match[1]), comment: comment || null };
}

/**
 * Records a customer's message as the answer to their open survey on that channel, when it parses
 * as a rating inside the window. A reply that opened a conversation of its own is resolved with
 * it, so it waits in no queue. Answers whether it was an answer.
 */
export async function recordCsatReply(db: Db, messageId: string): Promise<boolean> {
  const [message] = await db
    .select({ id: messages.id, contactId: messages.contactId, channelId: messages.channelId, conversationId: messages.conversationId, text: messages.text, direction: messages.direction, createdAt: messages.createdAt })
    .from(messages)
    .where(eq(messages.id, messageId));
  if (!message || message.direction !== 'inbound') return false;
  const parsed = parseCsatReply(message.text);
  if (!parsed) return false;
  return db.transaction(async (tx) => {
    const [survey] = await tx
      .select()
      .from(csatSurveys)
      .where(and(eq(csatSurveys.contactId, message.contactId), eq(csatSurveys.channelId, message.channelId), isNull(csatSurveys.answeredAt), gt(csatSurveys.expiresAt, message.createdAt), lte(csatSurveys.sentAt, message.createdAt)))
      .orderBy(desc(csatSurveys.sentAt))
      .limit(1)
      .for('update');
    if (!survey) return false;
    await tx
      .update(csatSurveys)
      .set({ rating: parsed.rating, comment: parsed.comment, answeredAt: message.createdAt, replyMessageId: message.id })
      .where(eq(csatSurveys.id, survey.id));
    if (message.conversationId !== survey.conversationId) {
      const [opened] = await tx.select({ value: count() }).from(messages).where(eq(messages.conversationId, message.conversationId));
      if (opened?.value === 1) {
        await tx
          .update(conversations)
          .set({ status: 'resolved', resolvedAt: sql`now()`, updatedAt: sql`now()` })
          .where(and(eq(conversations.id, message.conversationId), isNull(conversations.routingStatus)));
      }
    }
    return true;
  });
}

/** The survey of a conversation, if one was sent. */
export async function getConversationCsat(db: Db, conversationId: string) {
  const [survey] = await db.select().from(csatSurveys).where(eq(csatSurveys.conversationId, conversationId)).orderBy(asc(csatSurveys.sentAt));
  if (!survey) return null;
  return {
    sentAt: survey.sentAt,
    expiresAt: survey.expiresAt,
    channelId: survey.channelId,
    agentId: survey.agentId,
    rating: survey.rating,
    comment: survey.comment,
    answeredAt: survey.answeredAt,
  };
}
