import { and, eq, isNull, sql } from 'drizzle-orm';
import type { SenderIdentity } from '../channels/contract.js';
import type { Db } from '../db/client.js';
import { contactIdentities, contacts } from '../db/schema.js';
import { normalizeIdentityValue } from './identity.js';

export interface ResolvedSender {
  contactId: string;
  identityId: string;
  createdContact: boolean;
}

/**
 * Finds the contact that owns the sender's identity, creating contact and identity when the
 * identity is new. Safe when two events from the same new sender are processed at once: the
 * unique identity index lets one insert win and the other adopts the winner's contact.
 */
export async function resolveSender(
  tx: Db,
  sender: SenderIdentity,
  channelId: string,
  source: string,
): Promise<ResolvedSender> {
  const value = normalizeIdentityValue(sender.kind, sender.value);
  const scope = sender.scoped ? channelId : '';
  const existing = await findIdentity(tx, sender.kind, scope, value);
  if (existing) {
    await refreshFromSender(tx, existing, sender);
    return { contactId: existing.contactId, identityId: existing.id, createdContact: false };
  }

  const [contact] = await tx
    .insert(contacts)
    .values({ name: sender.name ?? null })
    .returning({ id: contacts.id });
  const [identity] = await tx
    .insert(contactIdentities)
    .values({ contactId: contact!.id, kind: sender.kind, scope, value, verified: sender.verified, source })
    .onConflictDoNothing()
    .returning({ id: contactIdentities.id });
  if (identity) return { contactId: contact!.id, identityId: identity.id, createdContact: true };

  // Another transaction created this identity first: drop our contact and use theirs.
  await tx.delete(contacts).where(eq(contacts.id, contact!.id));
  const winner = await findIdentity(tx, sender.kind, scope, value);
  if (!winner) throw new Error(`identity ${sender.kind} vanished while resolving it`);
  return { contactId: winner.contactId, identityId: winner.id, createdContact: false };
}

async function findIdentity(tx: Db, kind: SenderIdentity['kind'], scope: string, value: string) {
  const [row] = await tx
    .select({ id: contactIdentities.id, contactId: contactIdentities.contactId, verified: contactIdentities.verified })
    .from(contactIdentities)
    .where(and(eq(contactIdentities.kind, kind), eq(contactIdentities.scope, scope), eq(contactIdentities.value, value)));
  return row;
}

/** A channel that proves the identity upgrades it to verified; a reported name fills an empty one. */
async function refreshFromSender(
  tx: Db,
  identity: { id: string; contactId: string; verified: boolean },
  sender: SenderIdentity,
): Promise<void> {
  if (sender.verified && !identity.verified) {
    await tx.update(contactIdentities).set({ verified: true }).where(eq(contactIdentities.id, identity.id));
  }
  if (sender.name) {
    await tx
      .update(contacts)
      .set({ name: sender.name, updatedAt: sql`now()` })
      .where(and(eq(contacts.id, identity.contactId), isNull(contacts.name)));
  }
}
