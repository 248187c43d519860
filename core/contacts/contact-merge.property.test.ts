import fc from 'fast-check';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../../test/support/test-hub.js';
import { inboundEvents } from '../db/schema.js';
import { processInboundEvent } from '../inbound/process-inbound.js';

let hub: TestHub;
let channelId: string;

beforeAll(async () => {
  hub = await startTestHub({ workers: false });
  channelId = (await hub.createApiChannel('http://127.0.0.1:9/unused')).id;
});
afterAll(async () => {
  await hub?.close();
});

/** A small pool of identities per run, so random sequences keep colliding on the same people. */
const pool = (run: number) => [
  { kind: 'phone', value: `+86139${String(run).padStart(4, '0')}0001` },
  { kind: 'phone', value: `+86139${String(run).padStart(4, '0')}0002` },
  { kind: 'app_user', value: `run${run}-u1` },
  { kind: 'app_user', value: `run${run}-u2` },
  { kind: 'external_id', value: `run${run}-c1` },
];

type Command =
  | { type: 'message'; from: number; link: number | null }
  | { type: 'merge'; survivor: number; merged: number }
  | { type: 'undo'; pick: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ type: fc.constant('message' as const), from: fc.nat(4), link: fc.option(fc.nat(4), { nil: null }) }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('merge' as const), survivor: fc.nat(4), merged: fc.nat(4) }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('undo' as const), pick: fc.nat(20) }) },
);

const query = <T extends Record<string, unknown>>(statement: ReturnType<typeof sql>) => hub.runtime.database.query<T>(statement);

interface Snapshot {
  identities: Map<string, string>;
  messages: Map<string, { contactId: string; conversationId: string }>;
  contacts: Map<string, string>;
}

async function snapshot(): Promise<Snapshot> {
  const identities = await query<{ id: string; contact_id: string }>(sql`select id, contact_id from contact_identities`);
  const messages = await query<{ id: string; contact_id: string; conversation_id: string }>(sql`select id, contact_id, conversation_id from messages`);
  const contacts = await query<{ id: string; row: string }>(
    sql`select id, json_build_object('name', name, 'tags', tags, 'attributes', attributes, 'merged', merged_into_id)::text as row from contacts`,
  );
  return {
    identities: new Map(identities.map((r) => [r.id, r.contact_id])),
    messages: new Map(messages.map((r) => [r.id, { contactId: r.contact_id, conversationId: r.conversation_id }])),
    contacts: new Map(contacts.map((r) => [r.id, r.row])),
  };
}

async function ownerOf(identity: { kind: string; value: string }): Promise<string | undefined> {
  const [row] = await query<{ contact_id: string }>(sql`select contact_id from contact_identities where kind = ${identity.kind} and value = ${identity.value}`);
  return row?.contact_id;
}

let sent = 0;
async function deliver(from: { kind: string; value: string }, link: { kind: string; value: string } | null): Promise<void> {
  const messageId = `p-${++sent}`;
  const payload = { messageId, from: { ...from, ...(link ? { linked: [link] } : {}) }, text: `message ${sent}` };
  const [event] = await hub.runtime.database.db.insert(inboundEvents).values({ channelId, dedupeKey: messageId, payload }).returning();
  const outcome = await processInboundEvent(
    { db: hub.runtime.database.db, loadChannel: (id) => hub.runtime.channels.get(id), maxAttempts: 3, adapters: hub.runtime.adapters },
    event!.id,
  );
  expect(outcome.result).toBe('processed');
}

async function checkInvariants(): Promise<void> {
  const [counts] = await query<{ messages: number; events: number }>(
    sql`select (select count(*)::int from messages) as messages, (select count(*)::int from inbound_events) as events`,
  );
  // No message lost or duplicated: one per processed event.
  expect(counts!.messages).toBe(counts!.events);
  const [broken] = await query<{ tombstoned: number; mixed: number; drifted: number; orphans: number }>(sql`
    select
      (select count(*)::int from messages m join contacts c on c.id = m.contact_id where c.merged_into_id is not null) as tombstoned,
      (select count(*)::int from messages m join conversations v on v.id = m.conversation_id where v.contact_id <> m.contact_id) as mixed,
      (select count(*)::int from messages m join contact_identities i on i.id = m.identity_id where i.contact_id <> m.contact_id) as drifted,
      (select count(*)::int from contact_identities i join contacts c on c.id = i.contact_id where c.merged_into_id is not null) as orphans`);
  // Every message and identity belongs to exactly one live contact, with its conversation and its identity.
  expect(broken).toEqual({ tombstoned: 0, mixed: 0, drifted: 0, orphans: 0 });
  // Tombstones never form a cycle: every chain ends at a live contact.
  const [cycles] = await query<{ n: number }>(sql`
    with recursive chain(start, id, depth) as (
      select id, merged_into_id, 1 from contacts where merged_into_id is not null
      union all
      select chain.start, c.merged_into_id, depth + 1 from chain join contacts c on c.id = chain.id
      where c.merged_into_id is not null and depth < 100
    )
    select count(*)::int as n from chain where depth >= 100`);
  expect(cycles!.n).toBe(0);
}

describe('merges and undos over random sequences', () => {
  it('never lose or duplicate a message, keep everything on live contacts, never cycle, and undo restores the prior state', async () => {
    let run = 0;
    const seen = { merges: 0, undone: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 16 }), async (commands) => {
        const identities = pool(++run);
        const before = new Map<string, Snapshot>();
        // Every person of the pool has written once, so merges and undos have contacts to work on.
        for (const identity of identities) await deliver(identity, null);
        for (const step of commands) {
          const prior = await snapshot();
          const [{ n: mergesBefore }] = (await query<{ n: number }>(sql`select count(*)::int as n from contact_merges`)) as [{ n: number }];
          if (step.type === 'message') {
            await deliver(identities[step.from]!, step.link === null ? null : identities[step.link]!);
          } else if (step.type === 'merge') {
            const [survivorId, mergedId] = [await ownerOf(identities[step.survivor]!), await ownerOf(identities[step.merged]!)];
            if (!survivorId || !mergedId) continue;
            const response = await hub.api('POST', '/api/v1/contacts/merge', { survivorId, mergedId });
            expect(response.status).toBe(survivorId === mergedId ? 400 : 201);
          } else {
            const runMerges = await query<{ id: string; undone: boolean }>(
              sql`select id, undone_at is not null as undone from contact_merges where id in ${[...before.keys(), '00000000-0000-4000-8000-000000000000']} order by created_at`,
            );
            const target = runMerges[step.pick % Math.max(1, runMerges.length)];
            if (!target) continue;
            const response = await hub.api('POST', `/api/v1/contact-merges/${target.id}/undo`);
            if (response.status === 409) {
              seen.refused++;
              // A refused undo changes nothing.
              expect(await snapshot()).toEqual(prior);
            } else {
              expect(response.status).toBe(200);
              seen.undone++;
              const then = before.get(target.id)!;
              const pair = new Set([response.body.survivorId, response.body.mergedId]);
              const now = await snapshot();
              for (const [id, owner] of then.identities) if (pair.has(owner)) expect(now.identities.get(id)).toBe(owner);
              for (const [id, place] of then.messages) if (pair.has(place.contactId)) expect(now.messages.get(id)).toEqual(place);
              for (const id of pair) expect(now.contacts.get(id)).toBe(then.contacts.get(id));
            }
          }
          const created = await query<{ id: string }>(sql`select id from contact_merges order by created_at offset ${mergesBefore}`);
          for (const { id } of created) before.set(id, prior);
          seen.merges += created.length;
          await checkInvariants();
        }
      }),
      { numRuns: 30 },
    );
    // The sequences did exercise what the properties are about.
    expect(seen.merges).toBeGreaterThan(0);
    expect(seen.undone).toBeGreaterThan(0);
    expect(seen.refused).toBeGreaterThan(0);
  });
});
