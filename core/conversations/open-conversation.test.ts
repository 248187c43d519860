import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../db/client.js';
import { channels, contacts, conversations } from '../db/schema.js';
import { createTestDatabase } from '../../test/support/databases.js';

let drop: () => Promise<void>;
let database: Database;

beforeAll(async () => {
  const created = await createTestDatabase();
  drop = created.drop;
  // Connections for the two transactions and for watching them.
  database = await openDatabase({ databaseUrl: created.url, dataDir: '.', poolSize: 4 });
});
afterAll(async () => {
  await database?.close();
  await drop?.();
});

describe('continuing a conversation', () => {
  it('does not deadlock with a transaction that locked the conversation and then queues a message to the contact', async () => {
    const { db } = database;
    const [channel] = await db.insert(channels).values({ type: 'api', name: 'core' }).returning({ id: channels.id });
    const [contact] = await db.insert(contacts).values({ name: '王小明' }).returning({ id: contacts.id });
    const [conversation] = await db
      .insert(conversations)
      .values({ contactId: contact!.id, lastChannelId: channel!.id, seenChannelIds: [channel!.id] })
      .returning({ id: conversations.id });

    // A queue notice: its transaction locks the conversation first…
    let continued: Promise<unknown> | undefined;
    await db.transaction(async (tx) => {
      await tx.update(conversations).set({ queueNoticeAt: sql`now()` }).where(sql`id = ${conversation!.id}`);
      // …meanwhile the customer's next message locks the contact and waits for the conversation…
      continued = database.query(sql`select * from hub_open_conversation(${contact!.id}::uuid, ${channel!.id}::uuid, 86400::float8)`);
      await waitUntilBlocked(conversation!.id);
      // …and the notice's message, which references the contact, must still go in.
      await tx.execute(sql`insert into messages (conversation_id, contact_id, channel_id, direction, author_kind, content_kind, text, status)
        values (${conversation!.id}, ${contact!.id}, ${channel!.id}, 'outbound', 'system', 'text', 'You are number 3 in line', 'queued')`);
    });
    expect(await continued).toEqual([{ opened_conversation_id: conversation!.id, opened: false }]);
  });
});

/** Waits until some session waits for a lock (the conversation row here), at most 5 s. */
async function waitUntilBlocked(conversationId: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const waiting = await database.query<{ n: number }>(
      sql`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()`,
    );
    if (waiting[0]!.n > 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing waited for conversation ${conversationId}`);
}
