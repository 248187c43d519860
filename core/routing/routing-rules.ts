import { asc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { recordAudit } from '../audit.js';
import type { Db } from '../db/client.js';
import { routingRules, teams } from '../db/schema.js';
import { badRequest, notFound } from '../errors.js';
import { parseInput } from '../validation.js';

const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected HH:MM (24 h)');

export const ruleConditions = z.object({
  channelTypes: z.array(z.string().min(1)).min(1).optional(),
  /** Primary language subtags, e.g. ["zh"]. */
  languages: z.array(z.string().min(2).max(8)).min(1).optional(),
  tiers: z.array(z.string().min(1)).min(1).optional(),
  /** Contact attributes that must equal these values. */
  attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  /** Matches when the customer's first message contains any of them (case-insensitive). */
  keywords: z.array(z.string().trim().min(1).max(100)).min(1).optional(),
  /** A window in local time; `from` after `to` spans midnight. Days are ISO weekdays (1 = Monday). */
  timeOfDay: z
    .object({
      from: clock,
      to: clock,
      timezone: z.string().default('Asia/Shanghai'),
      days: z.array(z.number().int().min(1).max(7)).min(1).optional(),
    })
    .refine((w) => isTimeZone(w.timezone), { message: 'unknown time zone', path: ['timezone'] })
    .optional(),
});
export type RuleConditions = z.infer<typeof ruleConditions>;

export const ruleActions = z
  .object({
    teamId: z.uuid().optional(),
    requiredSkills: z.array(z.string().trim().min(1).max(100)).max(20).optional(),
    priority: z.number().int().min(0).max(3).optional(),
    slaPolicy: z.string().trim().min(1).max(100).optional(),
  })
  .refine((a) => Object.keys(a).length > 0, 'a rule needs at least one action');
export type RuleActions = z.infer<typeof ruleActions>;

export const createRuleInput = z.object({
  name: z.string().trim().min(1).max(200),
  /** Rules are evaluated by ascending position; defaults to after the last one. */
  position: z.number().int().min(0).max(1_000_000).optional(),
  enabled: z.boolean().default(true),
  conditions: ruleConditions.default({}),
  actions: ruleActions,
});
export const updateRuleInput = createRuleInput.partial();

/** What the rules look at: the conversation's first moments. */
export interface RoutingContext {
  channelType: string | null;
  language: string | null;
  tier: string | null;
  attributes: Record<string, unknown>;
  firstMessage: string | null;
  now: Date;
}

export interface EvaluatedRule {
  id: string;
  conditions: RuleConditions;
  actions: RuleActions;
}

/**
 * Tiers come from the bank's CRM as it spells them ("VIP", "vip", "Vip"): routing compares them
 * without regard to case, so a contact is not silently demoted by a spelling.
 */
export function sameTier(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

/** The first enabled rule, in order, whose every condition holds; absent conditions always hold. */
export function evaluateRules<R extends EvaluatedRule>(rules: R[], context: RoutingContext): R | undefined {
  return rules.find((rule) => matches(rule.conditions, context));
}

function matches(c: RuleConditions, x: RoutingContext): boolean {
  if (c.channelTypes && !(x.channelType && c.channelTypes.includes(x.channelType))) return false;
  if (c.languages && !(x.language && c.languages.includes(x.language))) return false;
  if (c.tiers && !(x.tier !== null && c.tiers.some((tier) => sameTier(tier, x.tier!)))) return false;
  if (c.attributes && !Object.entries(c.attributes).every(([key, value]) => x.attributes[key] === value)) return false;
  if (c.keywords) {
    const text = x.firstMessage?.toLowerCase() ?? '';
    if (!c.keywords.some((k) => text.includes(k.toLowerCase()))) return false;
  }
  if (c.timeOfDay && !withinWindow(c.timeOfDay, x.now)) return false;
  return true;
}

function withinWindow(window: NonNullable<RuleConditions['timeOfDay']>, now: Date): boolean {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', { timeZone: window.timezone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(now)
      .map((p) => [p.type, p.value]),
  );
  const minutes = Number(parts.hour) * 60 + Number(parts.minute);
  const weekday = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(parts.weekday!) + 1;
  const from = toMinutes(window.from);
  const to = toMinutes(window.to);
  const inside = from <= to ? minutes >= from && minutes < to : minutes >= from || minutes < to;
  // A window spanning midnight belongs to the day it started on.
  const day = from > to && minutes < to ? ((weekday + 5) % 7) + 1 : weekday;
  return inside && (!window.days || window.days.includes(day));
}

const toMinutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * Enabled rules in evaluation order as one JSON array, a subquery for use cases that read them
 * with their other rows in one statement (plain SQL text, so embedding it costs nothing to
 * build); `parseEnabledRules` turns it into rules.
 */
export const enabledRulesJson = sql<{ id: string; conditions: unknown; actions: unknown }[]>`(select
    coalesce(jsonb_agg(jsonb_build_object('id', r.id, 'conditions', r.conditions, 'actions', r.actions) order by r.position, r.created_at), '[]')
  from routing_rules r where r.enabled)`;

export function parseEnabledRules(rows: { id: string; conditions: unknown; actions: unknown }[]): EvaluatedRule[] {
  return rows.map((row) => ({ id: row.id, conditions: ruleConditions.parse(row.conditions), actions: ruleActions.parse(row.actions) }));
}

export async function listRules(db: Db) {
  return db.select().from(routingRules).orderBy(asc(routingRules.position), asc(routingRules.createdAt));
}

async function checkTeam(db: Db, teamId: string | undefined): Promise<void> {
  if (!teamId) return;
  const [team] = await db.select({ id: teams.id }).from(teams).where(eq(teams.id, teamId));
  if (!team) throw badRequest(`invalid request body: actions.teamId: no team ${teamId}`);
}

export async function createRule(db: Db, actorUserId: string, input: unknown) {
  const rule = parseInput(createRuleInput, input);
  await checkTeam(db, rule.actions.teamId);
  return db.transaction(async (tx) => {
    const [last] = await tx.select({ max: sql<number>`coalesce(max(${routingRules.position}), -1)::int` }).from(routingRules);
    const [row] = await tx
      .insert(routingRules)
      .values({ ...rule, position: rule.position ?? last!.max + 1 })
      .returning();
    await recordAudit(tx, { actorUserId, action: 'routing_rule.create', targetType: 'routing_rule', targetId: row!.id, details: { name: rule.name } });
    return row!;
  });
}

export async function updateRule(db: Db, actorUserId: string, id: string, input: unknown) {
  const patch = parseInput(updateRuleInput, input);
  await checkTeam(db, patch.actions?.teamId);
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(routingRules)
      .set({ ...patch, updatedAt: sql`now()` })
      .where(eq(routingRules.id, id))
      .returning();
    if (!row) throw notFound('routing rule', id);
    await recordAudit(tx, { actorUserId, action: 'routing_rule.update', targetType: 'routing_rule', targetId: id, details: patch });
    return row;
  });
}

export async function deleteRule(db: Db, actorUserId: string, id: string) {
  return db.transaction(async (tx) => {
    const [row] = await tx.delete(routingRules).where(eq(routingRules.id, id)).returning({ id: routingRules.id, name: routingRules.name });
    if (!row) throw notFound('routing rule', id);
    await recordAudit(tx, { actorUserId, action: 'routing_rule.delete', targetType: 'routing_rule', targetId: id, details: { name: row.name } });
    return { deleted: true };
  });
}
