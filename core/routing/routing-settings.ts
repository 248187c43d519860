import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { recordAudit } from '../audit.js';
import type { Db } from '../db/client.js';
import { routingSettings } from '../db/schema.js';
import { parseInput } from '../validation.js';

const noticeText = z
  .string()
  .trim()
  .min(1)
  .max(500)
  .refine((t) => t.includes('{position}'), 'a queue notice must contain {position}');

export const routingSettingsSchema = z.object({
  /** least_busy: lowest load relative to capacity; round_robin: whoever was assigned longest ago. */
  strategy: z.enum(['least_busy', 'round_robin']).default('least_busy'),
  /** Contact tiers served first: their conversations get at least `vipPriority`. */
  vipTiers: z.array(z.string().trim().min(1).max(50)).max(20).default(['vip']),
  vipPriority: z.number().int().min(0).max(3).default(2),
  /** Used for wait estimates until enough conversations have been handled to measure it. */
  defaultHandleMinutes: z.number().min(0.5).max(600).default(6),
  queueNotice: z
    .object({
      enabled: z.boolean().default(true),
      /** Throttle: at most one update per conversation in this interval. */
      minIntervalSeconds: z.number().int().min(0).max(86_400).default(60),
      /** An update is only worth sending when the position moved at least this much. */
      minPositionChange: z.number().int().min(1).max(1000).default(3),
      /** By contact language: `en` for contacts whose language starts with en, `zh` for everyone else. */
      texts: z
        .object({
          zh: noticeText.default('您已进入人工客服排队，前面还有 {ahead} 位客户（您排第 {position} 位），预计等待约 {minutes} 分钟。'),
          en: noticeText.default(
            'You are number {position} in the queue for an agent ({ahead} ahead of you); the estimated wait is about {minutes} min.',
          ),
        })
        .prefault({}),
      /**
       * The same, when the customer's place got worse since their last notice: customers with a
       * higher priority (or returned to the line, keeping their place) were put ahead of them.
       */
      placedAheadTexts: z
        .object({
          zh: noticeText.default('有优先处理的客户排到了您前面，您现在排第 {position} 位，前面还有 {ahead} 位客户，预计等待约 {minutes} 分钟。'),
          en: noticeText.default(
            'Customers with priority were placed ahead of you: you are now number {position} in the queue ({ahead} ahead of you); the estimated wait is about {minutes} min.',
          ),
        })
        .prefault({}),
    })
    .prefault({}),
});
export type RoutingSettings = z.infer<typeof routingSettingsSchema>;

/** A partial update: given fields replace stored ones, nested objects merge. */
export const updateRoutingSettingsInput = z.object({
  strategy: z.enum(['least_busy', 'round_robin']).optional(),
  vipTiers: z.array(z.string().trim().min(1).max(50)).max(20).optional(),
  vipPriority: z.number().int().min(0).max(3).optional(),
  defaultHandleMinutes: z.number().min(0.5).max(600).optional(),
  queueNotice: z
    .object({
      enabled: z.boolean().optional(),
      minIntervalSeconds: z.number().int().min(0).max(86_400).optional(),
      minPositionChange: z.number().int().min(1).max(1000).optional(),
      texts: z.object({ zh: noticeText.optional(), en: noticeText.optional() }).optional(),
      placedAheadTexts: z.object({ zh: noticeText.optional(), en: noticeText.optional() }).optional(),
    })
    .optional(),
});

export async function getRoutingSettings(db: Db): Promise<RoutingSettings> {
  const [row] = await db.select().from(routingSettings).where(eq(routingSettings.id, 1));
  return routingSettingsSchema.parse(row?.settings ?? {});
}

/**
 * The stored settings as a subquery, for use cases that read them with their other rows in one
 * statement (plain SQL text, so embedding it costs nothing to build).
 */
export const storedRoutingSettings = sql<Record<string, unknown> | null>`(select settings from routing_settings where id = 1)`;

/** Settings read by `storedRoutingSettings`, with their defaults. */
export const parseRoutingSettings = (stored: Record<string, unknown> | null): RoutingSettings => routingSettingsSchema.parse(stored ?? {});

export async function updateRoutingSettings(db: Db, actorUserId: string, input: unknown): Promise<RoutingSettings> {
  const patch = parseInput(updateRoutingSettingsInput, input);
  return db.transaction(async (tx) => {
    const [row] = await tx.select().from(routingSettings).where(eq(routingSettings.id, 1)).for('update');
    const current = routingSettingsSchema.parse(row?.settings ?? {});
    const next = routingSettingsSchema.parse({
      ...current,
      ...patch,
      queueNotice: {
        ...current.queueNotice,
        ...patch.queueNotice,
        texts: { ...current.queueNotice.texts, ...patch.queueNotice?.texts },
        placedAheadTexts: { ...current.queueNotice.placedAheadTexts, ...patch.queueNotice?.placedAheadTexts },
      },
    });
    await tx
      .insert(routingSettings)
      .values({ id: 1, settings: next })
      .onConflictDoUpdate({ target: routingSettings.id, set: { settings: next, updatedAt: sql`now()` } });
    await recordAudit(tx, { actorUserId, action: 'routing_settings.update', targetType: 'routing_settings', targetId: '1', details: patch });
    return next;
  });
}
