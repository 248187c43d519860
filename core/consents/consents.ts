import { and, desc, eq } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { consents } from '../db/schema.js';

export type ConsentStatus = (typeof consents.$inferSelect)['status'];

/** Records a consent change (STOP, START, one-click unsubscribe, an API call); history is kept. */
export async function recordConsent(
  db: Db,
  change: { contactId: string; channelId: string; status: ConsentStatus; source: string },
): Promise<void> {
  await db.insert(consents).values(change);
}

/** The consent in force: the latest change, or opted in when the contact never said otherwise. */
export async function currentConsent(db: Db, contactId: string, channelId: string): Promise<ConsentStatus> {
  const [latest] = await db
    .select({ status: consents.status })
    .from(consents)
    .where(and(eq(consents.contactId, contactId), eq(consents.channelId, channelId)))
    .orderBy(desc(consents.createdAt), desc(consents.id))
    .limit(1);
  return latest?.status ?? 'opted_in';
}

/**
 * Records a change only when it alters the consent in force, so a customer answering YES to a
 * question, or sending STOP twice, leaves the history as it was. Returns whether it recorded.
 */
export async function recordConsentChange(
  db: Db,
  change: { contactId: string; channelId: string; status: ConsentStatus; source: string },
): Promise<boolean> {
  if ((await currentConsent(db, change.contactId, change.channelId)) === change.status) return false;
  await recordConsent(db, change);
  return true;
}
