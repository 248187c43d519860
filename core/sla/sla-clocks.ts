import { and, asc, eq, gte, isNull, lte, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { conversations, messages, slaClocks, slaEvents, slaPolicies, type SlaTarget } from '../db/schema.js';
import type { DomainEvent } from '../events.js';
import { notFound } from '../errors.js';
import { addBusinessSeconds } from './business-time.js';
import { escalationSchema, findPolicyFor, loadCalendar, type SlaPolicy } from './sla-policies.js';

/** A moment a clock owes a check: its warning or its breach. */
export interface SlaTimer {
  conversationId: string;
  target: SlaTarget;
  cycle: number;
  kind: 'warning' | 'breach';
  at: Date;
}

/** Deterministic: the same clock state always names the same job, so re-adding it is a no-op. */
export const slaTimerJobId = (t: SlaTimer) => `sla-${t.conversationId}-${t.target}-${t.cycle}-${t.kind}-${t.at.getTime()}`;

type Clock = typeof slaClocks.$inferSelect;

const thresholdOf = (policy: SlaPolicy, target: SlaTarget) =>
  target === 'first_response' ? policy.firstResponseSeconds : target === 'next_response' ? policy.nextResponseSeconds : policy.resolutionSeconds;

/** The timers a running clock owes. */
export function timersOf(clock: Clock): SlaTimer[] {
  if (clock.stoppedAt) return [];
  const base = { conversationId: clock.conversationId, target: clock.target, cycle: clock.cycle };
  const timers: SlaTimer[] = [];
  if (clock.warnAt && !clock.warnedAt && !clock.breachedAt) timers.push({ ...base, kind: 'warning', at: clock.warnAt });
  if (!clock.breachedAt) timers.push({ ...base, kind: 'breach', at: clock.dueAt });
  return timers;
}

/** Due and warning times of a clock started at `start` under the policy, on its calendar. */
async function schedule(db: Db, policy: SlaPolicy, target: SlaTarget, start: Date) {
  const threshold = thresholdOf(policy, target);
  if (!threshold) return null;
  const calendar = await loadCalendar(db, policy.calendarId);
  const dueAt = addBusinessSeconds(calendar, start, threshold);
  if (!dueAt) return null;
  const warnAt = policy.warnPercent ? addBusinessSeconds(calendar, start, Math.max(1, Math.round((threshold * policy.warnPercent) / 100))) : null;
  return { dueAt, warnAt };
}

/** Starts (or restarts, with the next cycle) a clock; answers the saved row. */
async function startClock(tx: Db, policy: SlaPolicy, conversationId: string, target: SlaTarget, start: Date, previous?: Clock) {
  const times = await schedule(tx, policy, target, start);
  if (!times) return null;
  const values = {
    conversationId,
    target,
    policyId: policy.id,
    cycle: previous ? previous.cycle + 1 : 1,
    startedAt: start,
    dueAt: times.dueAt,
    warnAt: times.warnAt,
    stoppedAt: null,
    warnedAt: null,
    breachedAt: null,
    updatedAt: new Date(),
  };
  const [row] = await tx
    .insert(slaClocks)
    .values(values)
    .onConflictDoUpdate({ target: [slaClocks.conversationId, slaClocks.target], set: values })
    .returning();
  return row!;
}

async function lockConversation(tx: Db, conversationId: string) {
  const [row] = await tx
    .select({
      id: conversations.id,
      status: conversations.status,
      slaPolicy: conversations.slaPolicy,
      handedOverAt: conversations.handedOverAt,
      createdAt: conversations.createdAt,
    })
    .from(conversations)
    .where(eq(conversations.id, conversationId))
    .for('update');
  return row;
}

async function clocksOf(tx: Db, conversationId: string): Promise<Map<SlaTarget, Clock>> {
  const rows = await tx.select().from(slaClocks).where(eq(slaClocks.conversationId, conversationId));
  return new Map(rows.map((r) => [r.target, r]));
}

async function policyById(tx: Db, id: string) {
  const [row] = await tx.select().from(slaPolicies).where(eq(slaPolicies.id, id));
  return row ?? null;
}

async function stopClocks(tx: Db, conversationId: string, targets: SlaTarget[], at: Date) {
  for (const target of targets) {
    await tx
      .update(slaClocks)
      .set({ stoppedAt: at, updatedAt: sql`now()` })
      .where(and(eq(slaClocks.conversationId, conversationId), eq(slaClocks.target, target), isNull(slaClocks.stoppedAt)));
  }
}

/**
 * The events that move SLA clocks: customer messages and agents' replies. Staff notes (direction
 * `internal`), bot answers and system notices do not.
 */
export function slaWants(event: DomainEvent): boolean {
  return (
    event.type === 'conversation.handover' ||
    event.type === 'conversation.resolved' ||
    event.type === 'conversation.reopened' ||
    (event.type === 'message.created' && (event.direction === 'inbound' || (event.direction === 'outbound' && event.authorKind === 'agent')))
  );
}

/**
 * Moves a conversation's clocks for a committed domain event and answers the timers the clocks
 * now owe. Idempotent: a repeated event finds the clocks already moved.
 */
export async function applySlaEvent(db: Db, event: DomainEvent): Promise<SlaTimer[]> {
  if (!slaWants(event) || !('conversationId' in event)) return [];
  const conversationId = event.conversationId;
  const changed = await db.transaction(async (tx) => {
    const conversation = await lockConversation(tx, conversationId);
    if (!conversation) return [];
    const clocks = await clocksOf(tx, conversationId);
    const saved: Clock[] = [];
    switch (event.type) {
      case 'conversation.handover': {
        if (clocks.size || conversation.status === 'resolved') return [];
        const policy = await findPolicyFor(tx, conversation.slaPolicy);
        if (!policy) return [];
        const start = conversation.handedOverAt ?? new Date();
        for (const target of ['first_response', 'resolution'] as const) {
          const clock = await startClock(tx, policy, conversationId, target, start);
          if (clock) saved.push(clock);
        }
        // An agent who answered before this event was handled has met the first response already.
        const [answer] = await tx
          .select({ at: messages.createdAt })
          .from(messages)
          .where(and(eq(messages.conversationId, conversationId), eq(messages.direction, 'outbound'), eq(messages.authorKind, 'agent'), gte(messages.createdAt, start)))
          .orderBy(asc(messages.seq))
          .limit(1);
        if (answer) await stopClocks(tx, conversationId, ['first_response'], answer.at);
        break;
      }
      case 'message.created': {
        if (!clocks.size || conversation.status === 'resolved') return [];
        const [message] = await tx
          .select({ direction: messages.direction, authorKind: messages.authorKind, createdAt: messages.createdAt })
          .from(messages)
          .where(eq(messages.id, event.messageId));
        if (!message) return [];
        if (message.direction === 'outbound' && message.authorKind === 'agent') {
          await stopClocks(tx, conversationId, ['first_response', 'next_response'], message.createdAt);
        } else if (message.direction === 'inbound') {
          const first = clocks.get('first_response');
          const next = clocks.get('next_response');
          // The customer waits on us again once the first response was given and no wait runs.
          if (first?.stoppedAt && (!next || next.stoppedAt) && message.createdAt >= first.stoppedAt && (!next || message.createdAt > next.stoppedAt!)) {
            const policy = await policyById(tx, first.policyId);
            const clock = policy && (await startClock(tx, policy, conversationId, 'next_response', message.createdAt, next));
            if (clock) saved.push(clock);
          }
        }
        break;
      }
      case 'conversation.resolved':
        await stopClocks(tx, conversationId, ['first_response', 'next_response', 'resolution'], new Date());
        break;
      case 'conversation.reopened': {
        if (conversation.status === 'resolved') return [];
        const previous = clocks.get('resolution');
        if (previous && !previous.stoppedAt) return [];
        const policy = previous ? await policyById(tx, previous.policyId) : await findPolicyFor(tx, conversation.slaPolicy);
        const clock = policy && (await startClock(tx, policy, conversationId, 'resolution', new Date(), previous));
        if (clock) saved.push(clock);
        break;
      }
      default:
        return [];
    }
    return saved;
  });
  return changed.flatMap(timersOf);
}

/** A warning or breach just recorded, with the escalation it calls for. */
export interface SlaFired {
  event: Extract<DomainEvent, { type: 'sla.warning' | 'sla.breached' }>;
  lateMs: number;
  priorityRaised: boolean;
  notify: boolean;
}

export type TimerOutcome = { fired: SlaFired } | { retryAt: Date } | { stale: true };

/**
 * Handles a due timer: re-reads the clock and records the warning or breach once, raising the
 * conversation's priority when the policy says so. A timer of an earlier cycle, of a stopped
 * clock or already recorded does nothing; one that runs early asks to be retried at its time.
 */
export async function fireSlaTimer(db: Db, timer: Omit<SlaTimer, 'at'>): Promise<TimerOutcome> {
  return db.transaction(async (tx) => {
    const [clock] = await tx
      .select()
      .from(slaClocks)
      .where(and(eq(slaClocks.conversationId, timer.conversationId), eq(slaClocks.target, timer.target)))
      .for('update');
    if (!clock || clock.cycle !== timer.cycle || clock.stoppedAt) return { stale: true };
    const breach = timer.kind === 'breach';
    if (breach ? clock.breachedAt : clock.warnedAt || clock.breachedAt || !clock.warnAt) return { stale: true };
    const at = breach ? clock.dueAt : clock.warnAt!;
    const now = Date.now();
    if (at.getTime() > now) return { retryAt: at };
    const [conversation] = await tx
      .select({ assigneeId: conversations.assigneeId, teamId: conversations.teamId, channelId: conversations.lastChannelId, status: conversations.status })
      .from(conversations)
      .where(eq(conversations.id, timer.conversationId));
    if (!conversation) return { stale: true };
    const lateMs = now - at.getTime();
    const [recorded] = await tx
      .insert(slaEvents)
      .values({
        conversationId: timer.conversationId,
        target: timer.target,
        kind: timer.kind,
        cycle: timer.cycle,
        policyId: clock.policyId,
        dueAt: at,
        lateMs,
        assigneeId: conversation.assigneeId,
        teamId: conversation.teamId,
        channelId: conversation.channelId,
      })
      .onConflictDoNothing()
      .returning({ id: slaEvents.id });
    await tx
      .update(slaClocks)
      .set(breach ? { breachedAt: sql`now()`, updatedAt: sql`now()` } : { warnedAt: sql`now()`, updatedAt: sql`now()` })
      .where(and(eq(slaClocks.conversationId, timer.conversationId), eq(slaClocks.target, timer.target)));
    if (!recorded) return { stale: true };
    let priorityRaised = false;
    let notify = true;
    if (breach) {
      const policy = await policyById(tx, clock.policyId);
      const escalation = escalationSchema.parse(policy?.escalation ?? {});
      notify = escalation.notify;
      if (escalation.raisePriority !== undefined && conversation.status !== 'resolved') {
        const raised = await tx
          .update(conversations)
          .set({ priority: escalation.raisePriority, updatedAt: sql`now()` })
          .where(and(eq(conversations.id, timer.conversationId), sql`${conversations.priority} < ${escalation.raisePriority}`))
          .returning({ id: conversations.id });
        priorityRaised = raised.length > 0;
      }
    }
    return {
      fired: {
        event: {
          type: breach ? 'sla.breached' : 'sla.warning',
          conversationId: timer.conversationId,
          target: timer.target,
          policyId: clock.policyId,
          dueAt: at.toISOString(),
          assigneeId: conversation.assigneeId,
          teamId: conversation.teamId,
        },
        lateMs,
        priorityRaised,
        notify,
      },
    };
  });
}

/**
 * The timers of running clocks due before `horizonMs` from now (overdue ones included), for the
 * sweeper to re-add after Redis lost them. Both scans use partial indexes of running clocks.
 */
export async function findDueTimers(db: Db, horizonMs: number, limit = 1000): Promise<SlaTimer[]> {
  const until = new Date(Date.now() + horizonMs);
  const breaches = await db
    .select()
    .from(slaClocks)
    .where(and(isNull(slaClocks.stoppedAt), isNull(slaClocks.breachedAt), lte(slaClocks.dueAt, until)))
    .orderBy(asc(slaClocks.dueAt))
    .limit(limit);
  const warnings = await db
    .select()
    .from(slaClocks)
    .where(and(isNull(slaClocks.stoppedAt), isNull(slaClocks.warnedAt), sql`${slaClocks.warnAt} is not null`, lte(slaClocks.warnAt, until)))
    .orderBy(asc(slaClocks.warnAt))
    .limit(limit);
  return [
    ...breaches.flatMap(timersOf).filter((t) => t.kind === 'breach'),
    ...warnings.flatMap(timersOf).filter((t) => t.kind === 'warning'),
  ];
}

/** A conversation's clocks (with the remaining time of running ones) and its recorded events. */
export async function getConversationSla(db: Db, conversationId: string) {
  const [conversation] = await db.select({ id: conversations.id, slaPolicy: conversations.slaPolicy }).from(conversations).where(eq(conversations.id, conversationId));
  if (!conversation) throw notFound('conversation', conversationId);
  const clocks = await db
    .select({ clock: slaClocks, policyName: slaPolicies.name })
    .from(slaClocks)
    .innerJoin(slaPolicies, eq(slaPolicies.id, slaClocks.policyId))
    .where(eq(slaClocks.conversationId, conversationId));
  const events = await db.select().from(slaEvents).where(eq(slaEvents.conversationId, conversationId)).orderBy(asc(slaEvents.firedAt));
  const now = Date.now();
  return {
    conversationId,
    policy: clocks[0]?.policyName ?? null,
    clocks: clocks
      .map(({ clock }) => ({
        target: clock.target,
        cycle: clock.cycle,
        status: clock.stoppedAt ? (clock.breachedAt ? 'breached_stopped' : 'met') : clock.breachedAt ? 'breached' : clock.warnedAt ? 'warning' : 'running',
        startedAt: clock.startedAt,
        dueAt: clock.dueAt,
        warnAt: clock.warnAt,
        stoppedAt: clock.stoppedAt,
        warnedAt: clock.warnedAt,
        breachedAt: clock.breachedAt,
        /** Wall-clock milliseconds until due (negative once late); null when stopped. */
        remainingMs: clock.stoppedAt ? null : clock.dueAt.getTime() - now,
      }))
      .sort((a, b) => a.target.localeCompare(b.target)),
    events: events.map((e) => ({ target: e.target, kind: e.kind, cycle: e.cycle, dueAt: e.dueAt, firedAt: e.firedAt, lateMs: e.lateMs })),
  };
}
