import { sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { identityKinds } from '../db/schema.js';

/**
 * The audience language: a JSON tree of `and`/`or`/`not` over conditions `{ field, op, value }`.
 * Fields and operators come from an allowlist, values are checked by type, and the compiled SQL
 * carries every value (attribute keys included) as a bound parameter: nothing a marketer types
 * becomes SQL text.
 */
const text = z.string().trim().min(1).max(200);
const texts = z.array(text).min(1).max(100);
const attributeKey = z.string().regex(/^[A-Za-z0-9_]{1,64}$/, 'attribute keys are letters, digits and _ (at most 64)');
const instant = z.iso.datetime({ offset: true }).or(z.iso.date());

export const audienceCondition = z.union([
  z.object({ field: z.literal('tier'), op: z.enum(['eq', 'neq']), value: text }).strict(),
  z.object({ field: z.literal('tier'), op: z.literal('in'), value: texts }).strict(),
  z.object({ field: z.literal('tags'), op: z.enum(['has', 'lacks']), value: text }).strict(),
  z.object({ field: z.literal('tags'), op: z.literal('has_any'), value: texts }).strict(),
  z.object({ field: z.literal('language'), op: z.enum(['eq', 'prefix']), value: text }).strict(),
  z.object({ field: z.literal('timezone'), op: z.literal('eq'), value: text }).strict(),
  z.object({ field: z.literal('identity'), op: z.enum(['has', 'lacks']), value: z.enum(identityKinds) }).strict(),
  z.object({ field: z.literal('last_contact'), op: z.enum(['before', 'after']), value: instant }).strict(),
  z.object({ field: z.literal('last_contact'), op: z.enum(['within_days', 'older_than_days']), value: z.number().int().min(0).max(3650) }).strict(),
  z.object({ field: z.literal('last_contact'), op: z.literal('never') }).strict(),
  z.object({ field: z.literal('consent'), op: z.enum(['opted_in', 'opted_out']), value: z.uuid() }).strict(),
  z
    .object({
      field: z.literal('attribute'),
      key: attributeKey,
      op: z.enum(['eq', 'neq', 'exists', 'missing', 'gt', 'lt']),
      value: z.union([text, z.number(), z.boolean()]).optional(),
    })
    .strict()
    .refine((c) => c.op === 'exists' || c.op === 'missing' || c.value !== undefined, 'this operator needs a value')
    .refine((c) => (c.op !== 'gt' && c.op !== 'lt') || typeof c.value === 'number', 'gt and lt compare numbers'),
]);
export type AudienceCondition = z.infer<typeof audienceCondition>;

export type AudienceFilter = AudienceCondition | { and: AudienceFilter[] } | { or: AudienceFilter[] } | { not: AudienceFilter };

export const audienceFilter: z.ZodType<AudienceFilter> = z.lazy(() =>
  z.union([
    z.object({ and: z.array(audienceFilter).max(50) }).strict(),
    z.object({ or: z.array(audienceFilter).min(1).max(50) }).strict(),
    z.object({ not: audienceFilter }).strict(),
    audienceCondition,
  ]),
);

/** Filters nest at most this deep and hold at most this many conditions, so a count stays cheap to plan. */
const maxDepth = 6;
const maxConditions = 60;

/** Why a filter is refused beyond its shape, or undefined. */
export function checkFilterSize(filter: AudienceFilter): string | undefined {
  let conditions = 0;
  const walk = (node: AudienceFilter, depth: number): string | undefined => {
    if (depth > maxDepth) return `filters nest at most ${maxDepth} levels`;
    if ('and' in node) return node.and.map((n) => walk(n, depth + 1)).find(Boolean);
    if ('or' in node) return node.or.map((n) => walk(n, depth + 1)).find(Boolean);
    if ('not' in node) return walk(node.not, depth + 1);
    conditions++;
    return conditions > maxConditions ? `a filter holds at most ${maxConditions} conditions` : undefined;
  };
  return walk(filter, 1);
}

/** The filter as a condition on `contacts c`; merged contacts never match. */
export function compileAudienceFilter(filter: AudienceFilter): SQL {
  return sql`(c.merged_into_id is null and ${compileNode(filter)})`;
}

function compileNode(node: AudienceFilter): SQL {
  if ('and' in node) return node.and.length ? sql`(${sql.join(node.and.map(compileNode), sql` and `)})` : sql`true`;
  if ('or' in node) return sql`(${sql.join(node.or.map(compileNode), sql` or `)})`;
  if ('not' in node) return sql`(not coalesce(${compileNode(node.not)}, false))`;
  return compileCondition(node);
}

/** One bound parameter per element (the builder would otherwise spread an array into a list). */
const textArray = (values: string[]) => sql`array[${sql.join(values.map((v) => sql`${v}::text`), sql`, `)}]`;

const jsonValue = (value: string | number | boolean) =>
  typeof value === 'number' ? sql`to_jsonb(${value}::numeric)` : typeof value === 'boolean' ? sql`to_jsonb(${value}::boolean)` : sql`to_jsonb(${value}::text)`;

const lastInbound = sql`(select max(m.created_at) from messages m where m.contact_id = c.id and m.direction = 'inbound')`;

function compileCondition(c: AudienceCondition): SQL {
  switch (c.field) {
    case 'tier':
      if (c.op === 'in') return sql`c.tier = any(${textArray(c.value)})`;
      return c.op === 'eq' ? sql`c.tier = ${c.value}` : sql`c.tier is distinct from ${c.value}`;
    case 'tags':
      if (c.op === 'has_any') return sql`c.tags && ${textArray(c.value)}`;
      return c.op === 'has' ? sql`${c.value} = any(c.tags)` : sql`not (${c.value} = any(c.tags))`;
    case 'language':
      // zh matches zh-CN and zh-Hans-CN: the language's primary subtag decides.
      return c.op === 'eq'
        ? sql`lower(c.language) = lower(${c.value})`
        : sql`(lower(c.language) = lower(${c.value}) or lower(c.language) like lower(${c.value}) || '-%')`;
    case 'timezone':
      return sql`c.timezone = ${c.value}`;
    case 'identity': {
      const has = sql`exists (select 1 from contact_identities i where i.contact_id = c.id and i.kind = ${c.value})`;
      return c.op === 'has' ? has : sql`not ${has}`;
    }
    case 'last_contact':
      switch (c.op) {
        case 'before':
          return sql`${lastInbound} < ${c.value}::timestamptz`;
        case 'after':
          return sql`${lastInbound} >= ${c.value}::timestamptz`;
        case 'within_days':
          return sql`${lastInbound} >= now() - make_interval(days => ${c.value})`;
        case 'older_than_days':
          return sql`coalesce(${lastInbound} < now() - make_interval(days => ${c.value}), true)`;
        case 'never':
          return sql`${lastInbound} is null`;
      }
      break;
    case 'consent': {
      // The consent in force, as core/consents reads it: the latest change, else opted in.
      const current = sql`coalesce((select s.status from consents s where s.contact_id = c.id and s.channel_id = ${c.value}::uuid
        order by s.created_at desc, s.id desc limit 1), 'opted_in')`;
      return sql`${current} = ${c.op}`;
    }
    case 'attribute': {
      const value = sql`c.attributes -> ${c.key}::text`;
      switch (c.op) {
        case 'exists':
          return sql`${value} is not null`;
        case 'missing':
          return sql`${value} is null`;
        case 'eq':
          return sql`${value} = ${jsonValue(c.value!)}`;
        case 'neq':
          return sql`${value} is distinct from ${jsonValue(c.value!)}`;
        case 'gt':
        case 'lt': {
          // Compared only where the attribute is a number: a text value never errors, it just does not match.
          const number = sql`(case when jsonb_typeof(${value}) = 'number' then (${value})::text::numeric end)`;
          return c.op === 'gt' ? sql`${number} > ${c.value}` : sql`${number} < ${c.value}`;
        }
      }
    }
  }
  throw new Error('unreachable audience condition');
}
