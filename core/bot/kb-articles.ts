import { and, asc, count, eq, max, sql } from 'drizzle-orm';
import { z } from 'zod';
import { recordAudit } from '../audit.js';
import { channelTypes } from '../channels/contract.js';
import type { Db } from '../db/client.js';
import { kbArticles } from '../db/schema.js';
import { notFound } from '../errors.js';
import { buildKbIndex, type KbIndex } from './kb-matcher.js';
import { buildStagedIndex, type StagedIndex } from './kb-ranker.js';

const shortText = z.string().trim().min(1).max(500);

export const kbArticleInput = z.object({
  title: z.string().trim().min(1).max(200),
  questions: z.array(shortText).min(1, 'an article needs at least one question').max(100),
  answer: z.string().trim().min(1).max(5000),
  /** Answers for one channel type (e.g. a short one for `sms`); others get `answer`. */
  channelAnswers: z.partialRecord(z.enum(channelTypes), z.string().trim().min(1).max(5000)).default({}),
  tags: z.array(z.string().trim().min(1).max(50)).max(20).default([]),
  enabled: z.boolean().default(true),
});
export const kbArticlePatch = z
  .object({
    title: kbArticleInput.shape.title,
    questions: kbArticleInput.shape.questions,
    answer: kbArticleInput.shape.answer,
    channelAnswers: kbArticleInput.shape.channelAnswers.unwrap(),
    tags: kbArticleInput.shape.tags.unwrap(),
    enabled: z.boolean(),
  })
  .partial();

export const kbArticleFilters = z.object({
  tag: z.string().trim().min(1).max(50).optional(),
  enabled: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
});

export type KbArticle = typeof kbArticles.$inferSelect;

export async function listKbArticles(db: Db, filters: z.infer<typeof kbArticleFilters>): Promise<KbArticle[]> {
  return db
    .select()
    .from(kbArticles)
    .where(
      and(
        filters.enabled === undefined ? undefined : eq(kbArticles.enabled, filters.enabled),
        filters.tag ? sql`${kbArticles.tags} @> ${JSON.stringify([filters.tag])}::jsonb` : undefined,
      ),
    )
    .orderBy(asc(kbArticles.createdAt), asc(kbArticles.id));
}

export async function getKbArticle(db: Db, id: string): Promise<KbArticle> {
  const [row] = await db.select().from(kbArticles).where(eq(kbArticles.id, id));
  if (!row) throw notFound('knowledge-base article', id);
  return row;
}

export async function createKbArticle(db: Db, actorUserId: string, input: z.infer<typeof kbArticleInput>): Promise<KbArticle> {
  return db.transaction(async (tx) => {
    const [row] = await tx.insert(kbArticles).values(input).returning();
    await recordAudit(tx, { actorUserId, action: 'kb_article.create', targetType: 'kb_article', targetId: row!.id, details: { title: input.title } });
    return row!;
  });
}

export async function updateKbArticle(db: Db, actorUserId: string, id: string, patch: z.infer<typeof kbArticlePatch>): Promise<KbArticle> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(kbArticles)
      .set({ ...patch, updatedAt: new Date() })
      .where(eq(kbArticles.id, id))
      .returning();
    if (!row) throw notFound('knowledge-base article', id);
    await recordAudit(tx, { actorUserId, action: 'kb_article.update', targetType: 'kb_article', targetId: id, details: { fields: Object.keys(patch) } });
    return row;
  });
}

export async function deleteKbArticle(db: Db, actorUserId: string, id: string): Promise<void> {
  await db.transaction(async (tx) => {
    const [row] = await tx.delete(kbArticles).where(eq(kbArticles.id, id)).returning({ title: kbArticles.title });
    if (!row) throw notFound('knowledge-base article', id);
    await recordAudit(tx, { actorUserId, action: 'kb_article.delete', targetType: 'kb_article', targetId: id, details: { title: row.title } });
  });
}

/** The matcher's index with the articles it was built from, so a match can be turned into an answer. */
export interface KbSnapshot {
  index: KbIndex;
  articles: Map<string, KbArticle>;
  /** The staged matcher (recall + ranker) over the same articles, built on first use. */
  staged(): StagedIndex;
}

/**
 * Keeps the index of enabled articles in memory and rebuilds it when the articles change, seen
 * from their count and latest update: segmenting every variant for every message would cost
 * more than answering. Each hub process checks on use, so an edit reaches all of them.
 */
export function createKbCache(db: Db) {
  let current: { stamp: string; snapshot: Promise<KbSnapshot> } | undefined;
  return {
    async snapshot(): Promise<KbSnapshot> {
      const [version] = await db.select({ n: count(), at: max(kbArticles.updatedAt) }).from(kbArticles);
      const stamp = `${version?.n ?? 0}:${version?.at?.toISOString() ?? ''}`;
      if (current?.stamp !== stamp) {
        const snapshot = db
          .select()
          .from(kbArticles)
          .where(eq(kbArticles.enabled, true))
          .then((rows) => {
            let staged: StagedIndex | undefined;
            return {
              index: buildKbIndex(rows),
              articles: new Map(rows.map((row) => [row.id, row])),
              staged: () => (staged ??= buildStagedIndex(rows)),
            };
          });
        current = { stamp, snapshot };
        snapshot.catch(() => {
          if (current?.snapshot === snapshot) current = undefined;
        });
      }
      return current.snapshot;
    },
  };
}
export type KbCache = ReturnType<typeof createKbCache>;
