import { asc, desc, eq } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { contactIdentities, contacts } from '../db/schema.js';
import { notFound } from '../errors.js';
import { olderThan, toPage, type Page } from '../pagination.js';

export async function getContact(db: Db, id: string) {
  const [contact] = await db.select().from(contacts).where(eq(contacts.id, id));
  if (!contact) throw notFound('contact', id);
  const identities = await db
    .select({
      id: contactIdentities.id,
      kind: contactIdentities.kind,
      value: contactIdentities.value,
      scope: contactIdentities.scope,
      verified: contactIdentities.verified,
      source: contactIdentities.source,
      createdAt: contactIdentities.createdAt,
    })
    .from(contactIdentities)
    .where(eq(contactIdentities.contactId, id))
    .orderBy(asc(contactIdentities.createdAt));
  return { ...contact, identities };
}

export async function listContacts(db: Db, page: { limit: number; cursor?: string | undefined }): Promise<Page<typeof contacts.$inferSelect>> {
  const rows = await db
    .select()
    .from(contacts)
    .where(olderThan(contacts.createdAt, contacts.id, page.cursor))
    .orderBy(desc(contacts.createdAt), desc(contacts.id))
    .limit(page.limit + 1);
  return toPage(rows, page.limit, (row) => [row.createdAt.toISOString(), row.id]);
}
