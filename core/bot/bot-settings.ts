import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { recordAudit } from '../audit.js';
import type { Db } from '../db/client.js';
import { botSettings, channels } from '../db/schema.js';
import { notFound } from '../errors.js';

const keyword = z.string().trim().min(1).max(50);
const replyText = z.string().trim().min(1).max(1000);

/** A rule that sends a conversation straight to a person, with the priority it gets (0 low … 3 urgent). */
export const urgentRule = z.object({
  keywords: z.array(keyword).min(1).max(50),
  priority: z.number().int().min(0).max(3),
});

/** A channel's bot settings; every field has a default, so a channel without a row is fully described. */
export const botSettingsSchema = z.object({
  enabled: z.boolean(),
  /** What a customer writes to ask for a person. */
  handoverKeywords: z.array(keyword).max(50),
  /** Questions the bot could not answer before it hands over by itself. */
  maxFailures: z.number().int().min(1).max(10),
  /** The confidence (0..1, see the matcher) a match needs before the bot answers with it. */
  confidenceThreshold: z.number().min(0).max(1),
  /** Appended to every answer, so the customer knows how to reach a person. */
  offerText: replyText,
  /** Sent when no article matches confidently. */
  fallbackText: replyText,
  /** Sent when the bot hands the conversation to a person. */
  handoverText: replyText,
  urgentRules: z.array(urgentRule).max(20),
});
export type BotSettings = z.infer<typeof botSettingsSchema>;

/** A partial update: fields given replace the stored ones, lists as a whole. */
export const botSettingsPatch = botSettingsSchema.partial().strict();

export const defaultBotSettings: BotSettings = {
  // A fresh channel has no knowledge base behind it: conversations go to people until an admin turns the bot on.
  enabled: false,
  handoverKeywords: ['转人工', '人工', '人工客服', 'agent', 'human'],
  maxFailures: 2,
  confidenceThreshold: 0.25,
  offerText: '如需人工服务，请回复“转人工”。/ Reply "agent" to talk to a person.',
  fallbackText: '抱歉，我没有找到相关答案，请换个说法再问一次，或回复“转人工”。/ Sorry, I could not find an answer. Please rephrase, or reply "agent" to talk to a person.',
  handoverText: '正在为您转接人工客服，请稍候。/ Connecting you to a person, please wait.',
  urgentRules: [{ keywords: ['冻结', '挂失', '盗刷', 'fraud', 'stolen'], priority: 2 }],
};

/** Stored settings over the defaults, so a setting added in a later release has its default on channels saved before it. */
export function resolveBotSettings(stored: { enabled: boolean; settings: Record<string, unknown> } | undefined): BotSettings {
  if (!stored) return defaultBotSettings;
  const parsed = botSettingsSchema.partial().safeParse(stored.settings);
  return { ...defaultBotSettings, ...(parsed.success ? parsed.data : {}), enabled: stored.enabled };
}

/** The settings in force for a channel: its stored row over the defaults. */
export async function loadBotSettings(db: Db, channelId: string): Promise<BotSettings> {
  const [row] = await db.select().from(botSettings).where(eq(botSettings.channelId, channelId));
  return resolveBotSettings(row);
}

/** Changes a channel's bot settings (admins), audited with the fields that changed. */
export async function updateBotSettings(db: Db, actorUserId: string, channelId: string, patch: z.infer<typeof botSettingsPatch>): Promise<BotSettings> {
  return db.transaction(async (tx) => {
    const [channel] = await tx.select({ id: channels.id }).from(channels).where(eq(channels.id, channelId));
    if (!channel) throw notFound('channel', channelId);
    const [row] = await tx.select().from(botSettings).where(eq(botSettings.channelId, channelId)).for('update');
    const { enabled, ...rest } = { ...resolveBotSettings(row), ...patch };
    await tx
      .insert(botSettings)
      .values({ channelId, enabled, settings: rest })
      .onConflictDoUpdate({ target: botSettings.channelId, set: { enabled, settings: rest, updatedAt: new Date() } });
    await recordAudit(tx, { actorUserId, action: 'bot_settings.update', targetType: 'channel', targetId: channelId, details: { fields: Object.keys(patch), enabled } });
    return { ...rest, enabled };
  });
}

/** A channel's bot settings for the admin API: 404 for an unknown channel. */
export async function getBotSettings(db: Db, channelId: string): Promise<BotSettings> {
  const [channel] = await db.select({ id: channels.id }).from(channels).where(eq(channels.id, channelId));
  if (!channel) throw notFound('channel', channelId);
  return loadBotSettings(db, channelId);
}
