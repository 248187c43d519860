import { and, asc, desc, eq, isNull, sql } from 'drizzle-orm';
import { conversationAccessCondition, loadAccessScope, type Viewer } from '../access/conversation-access.js';
import type { Db } from '../db/client.js';
import { contactIdentities, contacts, conversations } from '../db/schema.js';
import { notFound } from '../errors.js';
import { olderThan, toPage, type Page } from '../pagination.js';
import { describeTierRouting } from '../routing/tier-routing.js';
import { resolveLiveContactId } from './contact-merge.js';

/**
 * A merged contact's id answers with the contact it was merged into, naming the id asked for in
 * `resolvedFrom`. `tierRouting` says what routing makes of the contact's tier (null without one).
 */
export async function getContact(db: Db, requestedId: string) {
  const id = await resolveLiveContactId(db, requestedId);
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
  const tierRouting = await describeTierRouting(db, contact.tier);
  return { ...contact, identities, tierRouting, ...(id === requestedId ? {} : { resolvedFrom: requestedId }) };
}

/** Contacts, newest first; for an agent only those with a conversation the agent may see. */
export async function listContacts(db: Db, viewer: Viewer, page: { limit: number; cursor?: string | undefined }): Promise<Page<typeof contacts.$inferSelect>> {
  const visible =
    viewer.role === 'agent'
      ? sql`exists (select 1 from ${conversations} where ${conversations.contactId} = ${contacts.id} and ${conversationAccessCondition(await loadAccessScope(db, viewer), conversations)})`
      : undefined;
  const rows = await db
    .select()
    .from(contacts)
    .where(and(isNull(contacts.mergedIntoId), olderThan(contacts.createdAt, contacts.id, page.cursor), visible))
    .orderBy(desc(contacts.createdAt), desc(contacts.id))
    .limit(page.limit + 1);
  return toPage(rows, page.limit, (row) => [row.createdAt.toISOString(), row.id]);
}
