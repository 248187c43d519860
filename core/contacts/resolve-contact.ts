import { and, eq, isNull, sql } from 'drizzle-orm';
import type { SenderIdentity } from '../channels/contract.js';
import type { Db } from '../db/client.js';
import { contactIdentities, contacts } from '../db/schema.js';
import type { ContactMerge } from './contact-merge.js';
import { normalizeIdentityValue } from './identity.js';
import { findIdentity, linkIdentities, type IdentityClaim } from './identity-links.js';
import { loadMergeRules } from './merge-rules.js';

export interface ResolvedSender {
  contactId: string;
  identityId: string;
  createdContact: boolean;
  /** Merges the sender's linked verified identities caused, in this transaction. */
  merges: ContactMerge[];
}

/**
 * Finds the contact that owns the sender's identity, creating contact and identity when the
 * identity is new; a new identity joins the contact that one of its verified linked identities
 * belongs to. Linked identities are then put on the contact, which may merge contacts under the
 * admin's rules. Safe when two events from the same new sender are processed at once: the
 * unique identity index lets one insert win and the other adopts the winner's contact.
 */
export async function resolveSender(
  tx: Db,
  sender: SenderIdentity,
  channelId: string,
  source: string,
): Promise<ResolvedSender> {
  const claimOf = (identity: Pick<SenderIdentity, 'kind' | 'value' | 'verified' | 'scoped'>): IdentityClaim => ({
    kind: identity.kind,
    value: normalizeIdentityValue(identity.kind, identity.value),
    scope: identity.scoped ? channelId : '',
    verified: identity.verified,
    source,
  });
  const primary = claimOf(sender);
  const linked = (sender.linked ?? []).map(claimOf);
  const found = await findOrCreateIdentity(tx, primary, linked, sender.name);
  if (found.existing) await refreshFromSender(tx, found.existing, sender);
  const links = linked.length ? await linkIdentities(tx, found.contactId, linked) : { contactId: found.contactId, merges: [] };
  return { contactId: links.contactId, identityId: found.identityId, createdContact: found.createdContact, merges: links.merges };
}

async function findOrCreateIdentity(tx: Db, primary: IdentityClaim, linked: IdentityClaim[], name: string | undefined) {
  const existing = await findIdentity(tx, primary);
  if (existing) return { existing, contactId: existing.contactId, identityId: existing.id, createdContact: false };

  const owner = await ownerOfVerifiedLink(tx, linked);
  const [contact] = owner
    ? [{ id: owner }]
    : await tx
        .insert(contacts)
        .values({ name: name ?? null })
        .returning({ id: contacts.id });
  const [identity] = await tx
    .insert(contactIdentities)
    .values({ contactId: contact!.id, kind: primary.kind, scope: primary.scope, value: primary.value, verified: primary.verified, source: primary.source })
    .onConflictDoNothing()
    .returning({ id: contactIdentities.id });
  if (identity) return { contactId: contact!.id, identityId: identity.id, createdContact: !owner };

  // Another transaction created this identity first: drop our contact and use theirs.
  if (!owner) await tx.delete(contacts).where(eq(contacts.id, contact!.id));
  const winner = await findIdentity(tx, primary);
  if (!winner) throw new Error(`identity ${primary.kind} vanished while resolving it`);
  return { existing: winner, contactId: winner.contactId, identityId: winner.id, createdContact: false };
}

/** The contact a verified linked identity already belongs to, if the rules let that kind join contacts. */
async function ownerOfVerifiedLink(tx: Db, linked: IdentityClaim[]): Promise<string | undefined> {
  const verified = linked.filter((claim) => claim.verified);
  if (!verified.length) return undefined;
  const rules = await loadMergeRules(tx);
  for (const claim of verified) {
    if (!rules[claim.kind].autoMerge) continue;
    const found = await findIdentity(tx, claim);
    if (found) return found.contactId;
  }
  return undefined;
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
