import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/client.js';
import { agentProfiles, contacts, conversationAssignments, conversations, teams, users } from '../db/schema.js';
import { openTestDatabase } from '../../test/support/databases.js';
import { queuePositions } from './queue-notices.js';

let suite: Awaited<ReturnType<typeof openTestDatabase>>;
let database: Database;

beforeAll(async () => {
  suite = await openTestDatabase();
  database = suite.database;
});
afterAll(() => suite?.close());

describe('places in the waiting queue', () => {
  it('counted for a few conversations, they match the ranking of the whole queue, line by line', async () => {
    const { db } = database;
    const lines = await db.insert(teams).values([{ name: 'cards' }, { name: 'loans' }]).returning({ id: teams.id });
    const people = await db
      .insert(contacts)
      .values(Array.from({ length: 40 }, (_, i) => ({ name: `customer ${i}` })))
      .returning({ id: contacts.id });
    // Ties on priority and on the minute they joined, across two teams and the common line.
    const start = Date.parse('2026-11-22T08:00:00Z');
    await db.insert(conversations).values(
      people.map((person, i) => ({
        contactId: person.id,
        routingStatus: i % 7 === 6 ? null : ('queued' as const),
        teamId: [lines[0]!.id, lines[1]!.id, null][i % 3] ?? null,
        priority: (i * 5) % 4,
        queuedAt: new Date(start + Math.floor(i / 4) * 60_000),
      })),
    );
    const whole = await queuePositions(db);
    expect(whole.length).toBeGreaterThan(30);
    expect(new Set(whole.filter((r) => r.teamId === null).map((r) => r.position)).size).toBe(whole.filter((r) => r.teamId === null).length);
    const counted = await queuePositions(db, { only: whole.map((r) => r.id) });
    const placeOf = (rows: typeof whole) => Object.fromEntries(rows.map((r) => [r.id, r.position]));
    expect(placeOf(counted)).toEqual(placeOf(whole));
    const one = whole.find((r) => r.position === 5 && r.teamId === lines[1]!.id)!;
    expect(await queuePositions(db, { only: [one.id] })).toEqual([one]);
    // The wait measure rides along when asked for: no resolved conversations and no seats yet.
    expect(await queuePositions(db, { only: [one.id], measureWait: true })).toEqual([{ ...one, waitMeasure: { mean: null, n: 0, seats: [] } }]);
  });

  it('read with the wait measure: recent handling times and the seats of agents at work', async () => {
    const { db } = database;
    const [agent] = await db.insert(users).values({ email: 'measured@bank.test', name: 'Measured', role: 'agent' }).returning({ id: users.id });
    const [away] = await db.insert(users).values({ email: 'away@bank.test', name: 'Away', role: 'agent' }).returning({ id: users.id });
    const [team] = await db.insert(teams).values({ name: 'measured' }).returning({ id: teams.id });
    await db.insert(agentProfiles).values([
      { userId: agent!.id, presence: 'busy', capacity: 3, teamIds: [team!.id] },
      { userId: away!.id, presence: 'away', capacity: 4 },
    ]);
    const [contact] = await db.insert(contacts).values({ name: 'served before' }).returning({ id: contacts.id });
    const [served] = await db.insert(conversations).values({ contactId: contact!.id, status: 'resolved' }).returning({ id: conversations.id });
    const start = Date.parse('2026-11-22T08:00:00Z');
    await db.insert(conversationAssignments).values(
      Array.from({ length: 12 }, (_, i) => ({
        conversationId: served!.id,
        agentId: agent!.id,
        reason: 'queue',
        assignedAt: new Date(start + i * 600_000),
        // Ten resolved in 2 and 4 minutes alternately; two transferred ones do not count.
        endedAt: new Date(start + i * 600_000 + (i < 10 ? (i % 2 ? 240_000 : 120_000) : 30_000)),
        endReason: i < 10 ? 'resolved' : 'transferred',
      })),
    );
    const [waiting] = await queuePositions(db, { measureWait: true });
    expect(waiting!.waitMeasure).toEqual({ mean: 180, n: 10, seats: [{ teamIds: [team!.id], capacity: 3 }] });
  });
});
