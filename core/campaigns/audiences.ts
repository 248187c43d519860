import { desc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { queryRows, type Db } from '../db/client.js';
import { audiences } from '../db/schema.js';
import { badRequest, notFound } from '../errors.js';
import { parseInput } from '../validation.js';
import { audienceFilter, checkFilterSize, compileAudienceFilter, type AudienceFilter } from './audience-filter.js';

export const audienceInput = z.object({
  name: z.string().trim().min(1).max(200),
  filter: audienceFilter,
});
export const audiencePreviewInput = z.object({ filter: audienceFilter });

function checkedFilter(filter: AudienceFilter): AudienceFilter {
  const problem = checkFilterSize(filter);
  if (problem) throw badRequest(`filter: ${problem}`);
  return filter;
}

export interface AudienceSampleContact {
  id: string;
  name: string | null;
  tier: string | null;
  language: string | null;
  timezone: string | null;
  tags: string[];
  attributes: Record<string, unknown>;
}

/** How many contacts a filter matches now, and the first few of them, for the builder's live count. */
export async function previewAudience(db: Db, input: unknown, sampleSize = 10) {
  const filter = checkedFilter(parseInput(audiencePreviewInput, input).filter);
  const where = compileAudienceFilter(filter);
  const [counted] = await queryRows<{ count: number }>(db, sql`select count(*)::int as count from contacts c where ${where}`);
  const sample = await queryRows<AudienceSampleContact>(
    db,
    sql`select c.id, c.name, c.tier, c.language, c.timezone, c.tags, c.attributes from contacts c where ${where} order by c.created_at desc, c.id limit ${sampleSize}`,
  );
  return { count: counted?.count ?? 0, sample };
}

export async function createAudience(db: Db, userId: string, input: unknown) {
  const parsed = parseInput(audienceInput, input);
  const [row] = await db.insert(audiences).values({ name: parsed.name, filter: checkedFilter(parsed.filter) as Record<string, unknown>, createdBy: userId }).returning();
  return row!;
}

export async function updateAudience(db: Db, id: string, input: unknown) {
  const parsed = parseInput(audienceInput, input);
  const [row] = await db
    .update(audiences)
    .set({ name: parsed.name, filter: checkedFilter(parsed.filter) as Record<string, unknown>, updatedAt: sql`now()` })
    .where(eq(audiences.id, id))
    .returning();
  if (!row) throw notFound('audience', id);
  return row;
}

export async function listAudiences(db: Db) {
  return { items: await db.select().from(audiences).orderBy(desc(audiences.createdAt)).limit(500) };
}

export async function getAudience(db: Db, id: string) {
  const [row] = await db.select().from(audiences).where(eq(audiences.id, id));
  if (!row) throw notFound('audience', id);
  return row;
}

/** A stored filter, parsed again: what was valid when saved is still checked before it runs. */
export function storedFilter(row: { filter: Record<string, unknown> }): AudienceFilter {
  return checkedFilter(parseInput(audienceFilter, row.filter));
}
