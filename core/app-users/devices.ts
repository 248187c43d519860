import { and, desc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { PushDevice, PushDeviceDirectory } from '../channels/contract.js';
import { resolveLiveContactId } from '../contacts/contact-merge.js';
import { resolveSender } from '../contacts/resolve-contact.js';
import type { Db } from '../db/client.js';
import { appDevices, channels, contactIdentities, contacts, pushPlatforms } from '../db/schema.js';
import { notFound } from '../errors.js';
import { parseInput } from '../validation.js';

export const registerDeviceInput = z.object({
  platform: z.enum(pushPlatforms),
  /** The FCM registration token or the APNs device token (hex). */
  token: z.string().trim().min(8, 'token is too short').max(4096),
  /** The token this install had before the provider rotated it; it stops receiving pushes. */
  replacesToken: z.string().trim().min(1).max(4096).optional(),
});

export interface AppUserRef {
  channelId: string;
  /** The `sub` of the verified app-user token. */
  appUserId: string;
}

/**
 * Registers an app install for pushes, or refreshes it (the app calls this on every start and
 * whenever the provider rotates its token). The app user becomes a verified `app_user` identity
 * of a contact, so a device can be registered before the customer ever writes.
 */
export async function registerDevice(db: Db, user: AppUserRef, input: unknown) {
  const { platform, token, replacesToken } = parseInput(registerDeviceInput, input);
  return db.transaction(async (tx) => {
    const sender = await resolveSender(tx, { kind: 'app_user', value: user.appUserId, verified: true }, user.channelId, `channel:${user.channelId}`);
    const fields = {
      contactId: sender.contactId,
      identityId: sender.identityId,
      appUserId: user.appUserId,
      active: true,
      deactivatedReason: null,
      lastSeenAt: sql`now()`,
      updatedAt: sql`now()`,
    };
    // A token that moves to another app user (a shared phone, a new login) follows the new user.
    const [device] = await tx
      .insert(appDevices)
      .values({ channelId: user.channelId, platform, token, ...fields })
      .onConflictDoUpdate({ target: [appDevices.channelId, appDevices.platform, appDevices.token], set: fields })
      .returning();
    if (replacesToken && replacesToken !== token) {
      await tx
        .update(appDevices)
        .set({ active: false, deactivatedReason: 'replaced', updatedAt: sql`now()` })
        .where(
          and(
            eq(appDevices.channelId, user.channelId),
            eq(appDevices.platform, platform),
            eq(appDevices.token, replacesToken),
            eq(appDevices.appUserId, user.appUserId),
          ),
        );
    }
    return toDeviceView(device!);
  });
}

/** The app user logged out on that install: it must not show their notifications any more. */
export async function unregisterDevice(db: Db, user: AppUserRef, deviceId: string) {
  const [device] = z.uuid().safeParse(deviceId).success
    ? await db
        .update(appDevices)
        .set({ active: false, deactivatedReason: 'unregistered', updatedAt: sql`now()` })
        .where(and(eq(appDevices.id, deviceId), eq(appDevices.channelId, user.channelId), eq(appDevices.appUserId, user.appUserId)))
        .returning()
    : [];
  if (!device) throw notFound('device', deviceId);
  return toDeviceView(device);
}

function toDeviceView(row: typeof appDevices.$inferSelect) {
  return {
    id: row.id,
    platform: row.platform,
    active: row.active,
    deactivatedReason: row.deactivatedReason,
    lastSeenAt: row.lastSeenAt,
    createdAt: row.createdAt,
  };
}

/**
 * A contact's app installs on every app channel, active ones first, then most recently seen, for
 * staff answering "why did the customer get no notification?". Inactive devices stay listed with
 * why and when they stopped (the rows are kept for the audit trail). Devices are found through
 * the contact's `app_user` identities, so they follow the identities through merges and undos.
 * Push tokens are not shown: they address the customer's phone and are of no use to staff.
 */
export async function listContactDevices(db: Db, contactId: string) {
  const live = await resolveLiveContactId(db, contactId);
  const items = await db
    .select({
      id: appDevices.id,
      channelId: appDevices.channelId,
      channelName: channels.name,
      appUserId: appDevices.appUserId,
      platform: appDevices.platform,
      active: appDevices.active,
      deactivatedReason: appDevices.deactivatedReason,
      // Nothing but a deactivation touches an inactive device (registering it again reactivates it).
      deactivatedAt: sql<Date | null>`case when ${appDevices.active} then null else ${appDevices.updatedAt} end`.mapWith(appDevices.updatedAt),
      lastSeenAt: appDevices.lastSeenAt,
      createdAt: appDevices.createdAt,
    })
    .from(appDevices)
    .innerJoin(contactIdentities, eq(contactIdentities.id, appDevices.identityId))
    .innerJoin(channels, eq(channels.id, appDevices.channelId))
    .where(eq(contactIdentities.contactId, live))
    .orderBy(desc(appDevices.active), desc(appDevices.lastSeenAt), appDevices.id);
  return { contactId: live, items };
}

/** The devices of one channel, as its push adapter sees them. */
export function createDeviceDirectory(db: Db, channelId: string): PushDeviceDirectory {
  return {
    async activeFor(recipient): Promise<PushDevice[]> {
      if (recipient.kind !== 'app_user') return [];
      return db
        .select({ id: appDevices.id, platform: appDevices.platform, token: appDevices.token, language: contacts.language })
        .from(appDevices)
        .innerJoin(contactIdentities, eq(contactIdentities.id, appDevices.identityId))
        .innerJoin(contacts, eq(contacts.id, contactIdentities.contactId))
        .where(and(eq(appDevices.channelId, channelId), eq(appDevices.appUserId, recipient.value), eq(appDevices.active, true)))
        .orderBy(appDevices.createdAt);
    },
    async deactivate(deviceId, reason) {
      await db
        .update(appDevices)
        .set({ active: false, deactivatedReason: reason, updatedAt: sql`now()` })
        .where(and(eq(appDevices.id, deviceId), eq(appDevices.channelId, channelId)));
    },
  };
}
