import { sql } from 'drizzle-orm';
import type { SenderIdentity } from '../channels/contract.js';
import { queryRows, type Db } from '../db/client.js';
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
  const primary = identityClaim(sender, channelId, source);
  const linked = (sender.linked ?? []).map((identity) => identityClaim(identity, channelId, source));
  const found = await findOrCreateIdentity(tx, primary, linked, sender.name);
  const links = linked.length ? await linkIdentities(tx, found.contactId, linked) : { contactId: found.contactId, merges: [] };
  return { contactId: links.contactId, identityId: found.identityId, createdContact: found.createdContact, merges: links.merges };
}

/** A sender's identity as stored: its value normalized, scoped to the channel when the channel says so. */
export function identityClaim(
  identity: Pick<SenderIdentity, 'kind' | 'value' | 'verified' | 'scoped'>,
  channelId: string,
  source: string,
): IdentityClaim {
  return {
    kind: identity.kind,
    value: normalizeIdentityValue(identity.kind, identity.value),
    scope: identity.scoped ? channelId : '',
    verified: identity.verified,
    source,
  };
}

/** One round trip (see hub_resolve_identity in the migrations): find, refresh or create the identity. */
async function findOrCreateIdentity(tx: Db, primary: IdentityClaim, linked: IdentityClaim[], name: string | undefined) {
  const owner = await ownerOfVerifiedLink(tx, linked);
  const [row] = await queryRows<{ resolved_contact_id: string; resolved_identity_id: string; created_contact: boolean }>(
    tx,
    sql`select * from hub_resolve_identity(${primary.kind}::text, ${primary.scope}::text, ${primary.value}::text, ${primary.verified}::boolean,
      ${primary.source}::text, ${name ?? null}::text, ${owner ?? null}::uuid)`,
  );
  return { contactId: row!.resolved_contact_id, identityId: row!.resolved_identity_id, createdContact: row!.created_contact };
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
