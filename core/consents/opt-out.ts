import { and, eq } from 'drizzle-orm';
import { normalizeIdentityValue } from '../contacts/identity.js';
import type { Db } from '../db/client.js';
import { contactIdentities, type IdentityKind } from '../db/schema.js';
import { currentConsent, recordConsent } from './consents.js';

/**
 * Opts out the contact owning an identity (an unsubscribe link names an address, not a contact).
 * Repeating it records nothing new. Undefined when no contact has the identity.
 */
export async function optOutIdentity(
  db: Db,
  input: { channelId: string; kind: IdentityKind; value: string; source: string },
): Promise<{ contactId: string } | undefined> {
  const value = normalizeIdentityValue(input.kind, input.value);
  return db.transaction(async (tx) => {
    const [identity] = await tx
      .select({ contactId: contactIdentities.contactId })
      .from(contactIdentities)
      .where(and(eq(contactIdentities.kind, input.kind), eq(contactIdentities.scope, ''), eq(contactIdentities.value, value)));
    if (!identity) return undefined;
    if ((await currentConsent(tx, identity.contactId, input.channelId)) !== 'opted_out') {
      await recordConsent(tx, { contactId: identity.contactId, channelId: input.channelId, status: 'opted_out', source: input.source });
    }
    return { contactId: identity.contactId };
  });
}
