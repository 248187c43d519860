import { asc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { recordAudit } from '../audit.js';
import type { Db } from '../db/client.js';
import { slaCalendars, slaPolicies } from '../db/schema.js';
import { badRequest, conflict, notFound } from '../errors.js';
import { parseInput } from '../validation.js';
import { hasOpeningHours, isValidTimeZone, parseClock, type BusinessCalendar } from './business-time.js';

const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'a time as HH:MM (24:00 ends the day)');
const period = z
  .object({ from: clock, to: clock })
  .refine((p) => parseClock(p.to) > parseClock(p.from), 'a period must end after it starts');
const isoDate = z.iso.date();

export const calendarInput = z.object({
  name: z.string().trim().min(1).max(200),
  timeZone: z.string().refine(isValidTimeZone, 'an IANA time zone such as Asia/Shanghai'),
  /** ISO weekday 1 (Monday) … 7 (Sunday) → opening periods; a weekday left out is closed. */
  hours: z.partialRecord(z.enum(['1', '2', '3', '4', '5', '6', '7']), z.array(period).max(6)),
  holidays: z.array(isoDate).max(1000).default([]),
  /** Make-up working days (调休): open with Monday's periods. */
  workdays: z.array(isoDate).max(1000).default([]),
});
export const updateCalendarInput = calendarInput.partial();

/** What one escalation does when a breach is recorded. */
export const escalationSchema = z.object({
  /** Raise the conversation's priority (and so its place in the queue) to at least this. */
  raisePriority: z.number().int().min(0).max(3).optional(),
  /** Tell the assignee and supervisors live (console) — on by default. */
  notify: z.boolean().default(true),
});

const seconds = z.number().int().min(1).max(366 * 86_400).nullable();

export const policyInput = z.object({
  name: z.string().trim().min(1).max(100),
  calendarId: z.uuid().nullable().default(null),
  firstResponseSeconds: seconds.default(null),
  nextResponseSeconds: seconds.default(null),
  resolutionSeconds: seconds.default(null),
  warnPercent: z.number().int().min(1).max(99).nullable().default(80),
  isDefault: z.boolean().default(false),
  escalation: escalationSchema.prefault({}),
});
export const updatePolicyInput = z.object({
  name: z.string().trim().min(1).max(100).optional(),
  calendarId: z.uuid().nullable().optional(),
  firstResponseSeconds: seconds.optional(),
  nextResponseSeconds: seconds.optional(),
  resolutionSeconds: seconds.optional(),
  warnPercent: z.number().int().min(1).max(99).nullable().optional(),
  isDefault: z.boolean().optional(),
  escalation: escalationSchema.optional(),
});

export type SlaPolicy = typeof slaPolicies.$inferSelect;
export type SlaCalendarRow = typeof slaCalendars.$inferSelect;

export function toBusinessCalendar(row: SlaCalendarRow | null | undefined): BusinessCalendar | null {
  if (!row) return null;
  return { timeZone: row.timeZone, hours: row.hours, holidays: row.holidays, workdays: row.workdays };
}

function checkOpens(calendar: Pick<SlaCalendarRow, 'hours'>): void {
  if (!hasOpeningHours({ timeZone: 'UTC', hours: calendar.hours, holidays: [], workdays: [] })) {
    throw badRequest('invalid request body: hours: a calendar must open at least one period a week');
  }
}

const uniqueDates = (dates: string[]) => [...new Set(dates)].sort();

export async function listCalendars(db: Db) {
  return db.select().from(slaCalendars).orderBy(asc(slaCalendars.name));
}

export async function createCalendar(db: Db, actorUserId: string, input: unknown) {
  const value = parseInput(calendarInput, input);
  checkOpens(value);
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(slaCalendars)
      .values({ ...value, holidays: uniqueDates(value.holidays), workdays: uniqueDates(value.workdays) })
      .onConflictDoNothing()
      .returning();
    if (!row) throw conflict(`a calendar named ${value.name} already exists`);
    await recordAudit(tx, { actorUserId, action: 'sla.calendar.create', targetType: 'sla_calendar', targetId: row.id, details: { name: row.name } });
    return row;
  });
}

export async function updateCalendar(db: Db, actorUserId: string, id: string, input: unknown) {
  const value = parseInput(updateCalendarInput, input);
  if (value.hours) checkOpens({ hours: value.hours });
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(slaCalendars)
      .set({
        ...value,
        ...(value.holidays ? { holidays: uniqueDates(value.holidays) } : {}),
        ...(value.workdays ? { workdays: uniqueDates(value.workdays) } : {}),
        updatedAt: sql`now()`,
      })
      .where(eq(slaCalendars.id, id))
      .returning()
      .catch((error: unknown) => {
        if (uniqueViolation(error)) throw conflict(`a calendar named ${value.name} already exists`);
        throw error;
      });
    if (!row) throw notFound('calendar', id);
    await recordAudit(tx, { actorUserId, action: 'sla.calendar.update', targetType: 'sla_calendar', targetId: id, details: { fields: Object.keys(value) } });
    return row;
  });
}

export const importDatesInput = z.object({
  year: z.number().int().min(2000).max(2100),
  holidays: z.array(isoDate).max(366).default([]),
  workdays: z.array(isoDate).max(366).default([]),
});

/** Replaces a year's holidays and make-up working days with the given lists (a yearly import). */
export async function importCalendarYear(db: Db, actorUserId: string, id: string, input: unknown) {
  const { year, holidays, workdays } = parseInput(importDatesInput, input);
  const inYear = (d: string) => d.startsWith(`${year}-`);
  const outside = [...holidays, ...workdays].filter((d) => !inYear(d));
  if (outside.length) throw badRequest(`invalid request body: dates outside ${year}: ${outside.slice(0, 5).join(', ')}`);
  return db.transaction(async (tx) => {
    const [current] = await tx.select().from(slaCalendars).where(eq(slaCalendars.id, id)).for('update');
    if (!current) throw notFound('calendar', id);
    const [row] = await tx
      .update(slaCalendars)
      .set({
        holidays: uniqueDates([...current.holidays.filter((d) => !inYear(d)), ...holidays]),
        workdays: uniqueDates([...current.workdays.filter((d) => !inYear(d)), ...workdays]),
        updatedAt: sql`now()`,
      })
      .where(eq(slaCalendars.id, id))
      .returning();
    await recordAudit(tx, { actorUserId, action: 'sla.calendar.import', targetType: 'sla_calendar', targetId: id, details: { year, holidays: holidays.length, workdays: workdays.length } });
    return row!;
  });
}

export async function listPolicies(db: Db) {
  return db.select().from(slaPolicies).orderBy(asc(slaPolicies.name));
}

async function checkCalendar(tx: Db, calendarId: string | null | undefined) {
  if (!calendarId) return;
  const [calendar] = await tx.select({ id: slaCalendars.id }).from(slaCalendars).where(eq(slaCalendars.id, calendarId));
  if (!calendar) throw badRequest(`invalid request body: calendarId: no calendar ${calendarId}`);
}

const uniqueViolation = (error: unknown) => {
  const e = error as { code?: string; cause?: { code?: string } };
  return e.code === '23505' || e.cause?.code === '23505';
};

export async function createPolicy(db: Db, actorUserId: string, input: unknown) {
  const value = parseInput(policyInput, input);
  return db.transaction(async (tx) => {
    await checkCalendar(tx, value.calendarId);
    // One default at a time: naming a new default takes the mark from the old one.
    if (value.isDefault) await tx.update(slaPolicies).set({ isDefault: false }).where(eq(slaPolicies.isDefault, true));
    const [row] = await tx.insert(slaPolicies).values(value).onConflictDoNothing().returning();
    if (!row) throw conflict(`a policy named ${value.name} already exists`);
    await recordAudit(tx, { actorUserId, action: 'sla.policy.create', targetType: 'sla_policy', targetId: row.id, details: { name: row.name } });
    return row;
  });
}

export async function updatePolicy(db: Db, actorUserId: string, id: string, input: unknown) {
  const value = parseInput(updatePolicyInput, input);
  return db.transaction(async (tx) => {
    await checkCalendar(tx, value.calendarId);
    if (value.isDefault) await tx.update(slaPolicies).set({ isDefault: false }).where(eq(slaPolicies.isDefault, true));
    const [row] = await tx
      .update(slaPolicies)
      .set({ ...value, updatedAt: sql`now()` })
      .where(eq(slaPolicies.id, id))
      .returning()
      .catch((error: unknown) => {
        if (uniqueViolation(error)) throw conflict(`a policy named ${value.name} already exists`);
        throw error;
      });
    if (!row) throw notFound('policy', id);
    await recordAudit(tx, { actorUserId, action: 'sla.policy.update', targetType: 'sla_policy', targetId: id, details: { fields: Object.keys(value) } });
    return row;
  });
}

/** The policy a routing rule named, else the default; null when neither exists. */
export async function findPolicyFor(db: Db, name: string | null): Promise<SlaPolicy | null> {
  const rows = await db
    .select()
    .from(slaPolicies)
    .where(name ? sql`${slaPolicies.name} = ${name} or ${slaPolicies.isDefault}` : eq(slaPolicies.isDefault, true));
  return rows.find((p) => p.name === name) ?? rows.find((p) => p.isDefault) ?? null;
}

export async function loadCalendar(db: Db, calendarId: string | null): Promise<BusinessCalendar | null> {
  if (!calendarId) return null;
  const [row] = await db.select().from(slaCalendars).where(eq(slaCalendars.id, calendarId));
  return toBusinessCalendar(row);
}
