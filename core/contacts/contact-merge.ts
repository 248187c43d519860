import { and, desc, eq, gt, inArray, isNull, ne, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import { recordAudit } from '../audit.js';
import type { Db } from '../db/client.js';
import { consents, contactIdentities, contactMerges, contacts, conversations, mergeSuggestions, messages } from '../db/schema.js';
import { badRequest, conflict, notFound } from '../errors.js';
import { olderThan, toPage } from '../pagination.js';
import { parseInput } from '../validation.js';

type ContactRow = typeof contacts.$inferSelect;
export type ContactMerge = typeof contactMerges.$inferSelect;

/** The attributes a merge may change on the survivor and an undo puts back. */
type ContactAttributes = Pick<ContactRow, 'name' | 'language' | 'timezone' | 'tier' | 'birthday' | 'tags' | 'attributes'>;

/** Exactly what a merge moved, as stored in the merge record. */
export interface MovedRecord {
  identities: string[];
  /** The merged contact's conversations as they were (open ones are folded into `intoConversationId`). */
  conversations: Array<{ id: string; status: ConversationStatusValue; resolvedAt: string | null }>;
  /** Every message of the merged contact with the conversation it was in. */
  messages: Array<{ id: string; conversationId: string }>;
  consents: string[];
  intoConversationId: string | null;
  survivorBefore: ContactAttributes;
  mergedBefore: ContactAttributes;
}
type ConversationStatusValue = (typeof conversations.$inferSelect)['status'];

export interface MergeMeta {
  /** `manual`, or `auto:<kind>`. */
  rule: string;
  actorUserId: string | null;
  reason: Record<string, unknown>;
}

/** Locks contacts in id order, so two transactions locking the same pair cannot deadlock. */
export async function lockContacts(tx: Db, ids: string[]): Promise<Map<string, ContactRow>> {
  const rows = await tx
    .select()
    .from(contacts)
    .where(inArray(contacts.id, ids))
    .orderBy(contacts.id)
    .for('update');
  return new Map(rows.map((row) => [row.id, row]));
}

/** Follows tombstones to the contact that holds a merged contact's data now. */
export async function resolveLiveContactId(db: Db, id: string): Promise<string> {
  let current = id;
  for (let hops = 0; hops < 1000; hops++) {
    const [row] = await db.select({ mergedIntoId: contacts.mergedIntoId }).from(contacts).where(eq(contacts.id, current));
    if (!row) throw notFound('contact', id);
    if (!row.mergedIntoId) return current;
    current = row.mergedIntoId;
  }
  throw new Error(`contact ${id} has a tombstone chain that does not end`);
}

const attributesOf = (row: ContactRow): ContactAttributes => ({
  name: row.name,
  language: row.language,
  timezone: row.timezone,
  tier: row.tier,
  birthday: row.birthday,
  tags: row.tags,
  attributes: row.attributes,
});

/**
 * Moves everything of `merged` to `survivor` inside the caller's transaction, both rows being
 * locked by the caller. Open conversations of the merged contact are folded into the survivor's
 * open one, so the customer has one continuous conversation; the survivor keeps its attribute
 * values and takes the merged contact's only where it has none.
 */
export async function mergeLockedContacts(tx: Db, survivor: ContactRow, merged: ContactRow, meta: MergeMeta): Promise<ContactMerge> {
  const identityRows = await tx
    .update(contactIdentities)
    .set({ contactId: survivor.id })
    .where(eq(contactIdentities.contactId, merged.id))
    .returning({ id: contactIdentities.id });
  const conversationRows = await tx
    .select({ id: conversations.id, status: conversations.status, resolvedAt: conversations.resolvedAt })
    .from(conversations)
    .where(eq(conversations.contactId, merged.id));
  const messageRows = await tx
    .select({ id: messages.id, conversationId: messages.conversationId })
    .from(messages)
    .where(eq(messages.contactId, merged.id));

  const [into] = await tx
    .select({ id: conversations.id })
    .from(conversations)
    .where(and(eq(conversations.contactId, survivor.id), ne(conversations.status, 'resolved')))
    .orderBy(desc(conversations.lastMessageAt))
    .limit(1);
  const openIds = conversationRows.filter((c) => c.status !== 'resolved').map((c) => c.id);
  if (into && openIds.length) {
    await tx.update(messages).set({ conversationId: into.id }).where(inArray(messages.conversationId, openIds));
    await tx
      .update(conversations)
      .set({ status: 'resolved', resolvedAt: sql`now()`, updatedAt: sql`now()` })
      .where(inArray(conversations.id, openIds));
    await refreshConversations(tx, [into.id]);
  }
  await tx.update(conversations).set({ contactId: survivor.id }).where(eq(conversations.contactId, merged.id));
  await tx.update(messages).set({ contactId: survivor.id }).where(eq(messages.contactId, merged.id));
  const consentRows = await tx
    .update(consents)
    .set({ contactId: survivor.id })
    .where(eq(consents.contactId, merged.id))
    .returning({ id: consents.id });
  await tx
    .delete(mergeSuggestions)
    .where(
      or(
        and(eq(mergeSuggestions.contactId, survivor.id), eq(mergeSuggestions.otherContactId, merged.id)),
        and(eq(mergeSuggestions.contactId, merged.id), eq(mergeSuggestions.otherContactId, survivor.id)),
      ),
    );

  await tx
    .update(contacts)
    .set({
      name: survivor.name ?? merged.name,
      language: survivor.language ?? merged.language,
      timezone: survivor.timezone ?? merged.timezone,
      tier: survivor.tier ?? merged.tier,
      birthday: survivor.birthday ?? merged.birthday,
      tags: [...new Set([...survivor.tags, ...merged.tags])],
      attributes: { ...merged.attributes, ...survivor.attributes },
      updatedAt: sql`now()`,
    })
    .where(eq(contacts.id, survivor.id));
  await tx.update(contacts).set({ mergedIntoId: survivor.id, updatedAt: sql`now()` }).where(eq(contacts.id, merged.id));

  const moved: MovedRecord = {
    identities: identityRows.map((r) => r.id),
    conversations: conversationRows.map((c) => ({ id: c.id, status: c.status, resolvedAt: c.resolvedAt?.toISOString() ?? null })),
    messages: messageRows,
    consents: consentRows.map((r) => r.id),
    intoConversationId: into && openIds.length ? into.id : null,
    survivorBefore: attributesOf(survivor),
    mergedBefore: attributesOf(merged),
  };
  const [record] = await tx
    .insert(contactMerges)
    .values({ survivorId: survivor.id, mergedId: merged.id, rule: meta.rule, actorUserId: meta.actorUserId, reason: meta.reason, moved: moved as unknown as Record<string, unknown> })
    .returning();
  if (meta.actorUserId) {
    await recordAudit(tx, {
      actorUserId: meta.actorUserId,
      action: 'contact.merge',
      targetType: 'contact',
      targetId: survivor.id,
      details: { mergeId: record!.id, mergedId: merged.id },
    });
  }
  return record!;
}

export const mergeInput = z.object({ survivorId: z.uuid(), mergedId: z.uuid() });

/** A merge an agent or admin asked for: the caller chooses which contact survives. */
export async function mergeContactsManually(deps: { db: Db }, actorUserId: string, input: unknown): Promise<ContactMerge> {
  const { survivorId, mergedId } = parseInput(mergeInput, input);
  if (survivorId === mergedId) throw badRequest('survivorId and mergedId are the same contact');
  return deps.db.transaction(async (tx) => {
    const locked = await lockContacts(tx, [survivorId, mergedId]);
    const survivor = requireLive(locked, survivorId);
    const merged = requireLive(locked, mergedId);
    return mergeLockedContacts(tx, survivor, merged, { rule: 'manual', actorUserId, reason: { requestedBy: actorUserId } });
  });
}

function requireLive(locked: Map<string, ContactRow>, id: string): ContactRow {
  const row = locked.get(id);
  if (!row) throw notFound('contact', id);
  if (row.mergedIntoId) throw conflict(`contact ${id} was merged into ${row.mergedIntoId}; merge that contact instead`, { mergedIntoId: row.mergedIntoId });
  return row;
}

/**
 * Takes a merge back: identities, conversations, messages and consents return to the merged
 * contact, including messages that arrived since on the identities that return, and both
 * contacts get their attributes as they were. Refused while a later merge of either contact
 * stands, because that merge moved rows this one would have to move back.
 */
export async function undoMerge(deps: { db: Db }, actorUserId: string | null, mergeId: string): Promise<ContactMerge> {
  return deps.db.transaction(async (tx) => {
    const [merge] = await tx.select().from(contactMerges).where(eq(contactMerges.id, mergeId)).for('update');
    if (!merge) throw notFound('merge', mergeId);
    if (merge.undoneAt) throw conflict(`merge ${mergeId} was already undone at ${merge.undoneAt.toISOString()}`);
    const pair = [merge.survivorId, merge.mergedId];
    await lockContacts(tx, pair);
    const later = await tx
      .select({ id: contactMerges.id })
      .from(contactMerges)
      .where(
        and(
          isNull(contactMerges.undoneAt),
          // Compared in the database: a JavaScript Date drops the microseconds.
          gt(contactMerges.createdAt, sql`(select m.created_at from contact_merges m where m.id = ${mergeId})`),
          or(inArray(contactMerges.survivorId, pair), inArray(contactMerges.mergedId, pair)),
        ),
      )
      .orderBy(desc(contactMerges.createdAt));
    if (later.length) {
      const ids = later.map((m) => m.id);
      throw conflict(`merge ${mergeId} cannot be undone while later merges depend on it; undo these first: ${ids.join(', ')}`, { dependentMergeIds: ids });
    }

    const moved = merge.moved as unknown as MovedRecord;
    const { survivorId, mergedId } = merge;
    if (moved.identities.length) {
      await tx.update(contactIdentities).set({ contactId: mergedId }).where(inArray(contactIdentities.id, moved.identities));
    }
    for (const conversation of moved.conversations) {
      await tx
        .update(conversations)
        .set({ contactId: mergedId, status: conversation.status, resolvedAt: conversation.resolvedAt ? new Date(conversation.resolvedAt) : null, updatedAt: sql`now()` })
        .where(eq(conversations.id, conversation.id));
    }
    const byConversation = new Map<string, string[]>();
    for (const message of moved.messages) byConversation.set(message.conversationId, [...(byConversation.get(message.conversationId) ?? []), message.id]);
    for (const [conversationId, ids] of byConversation) {
      await tx.update(messages).set({ contactId: mergedId, conversationId }).where(inArray(messages.id, ids));
    }
    const arrivedSince = moved.identities.length
      ? await tx
          .update(messages)
          .set({ contactId: mergedId })
          .where(and(eq(messages.contactId, survivorId), inArray(messages.identityId, moved.identities)))
          .returning({ id: messages.id })
      : [];
    if (moved.consents.length) await tx.update(consents).set({ contactId: mergedId }).where(inArray(consents.id, moved.consents));
    const rehomed = await rehomeStrayMessages(tx, pair);

    await tx.update(contacts).set({ ...moved.survivorBefore, updatedAt: sql`now()` }).where(eq(contacts.id, survivorId));
    await tx.update(contacts).set({ ...moved.mergedBefore, mergedIntoId: null, updatedAt: sql`now()` }).where(eq(contacts.id, mergedId));
    const undo = { messagesArrivedSince: arrivedSince.map((m) => m.id), rehomedMessages: rehomed };
    const [record] = await tx
      .update(contactMerges)
      .set({ undoneAt: sql`now()`, undoneByUserId: actorUserId, undo })
      .where(eq(contactMerges.id, mergeId))
      .returning();
    await recordAudit(tx, { actorUserId, action: 'contact.merge_undo', targetType: 'contact_merge', targetId: mergeId, details: { survivorId, mergedId, ...undo } });
    return record!;
  });
}

/**
 * After an undo, a message may belong to one contact while its conversation went to the other
 * (it arrived while they were one customer). It moves to its contact's open conversation, or to
 * a new one, so a conversation only ever holds one contact's messages.
 */
async function rehomeStrayMessages(tx: Db, contactIds: string[]): Promise<string[]> {
  const strays = await tx
    .select({ id: messages.id, contactId: messages.contactId, channelId: messages.channelId })
    .from(messages)
    .innerJoin(conversations, eq(conversations.id, messages.conversationId))
    .where(and(inArray(messages.contactId, contactIds), ne(conversations.contactId, messages.contactId)))
    .orderBy(messages.seq);
  for (const contactId of new Set(strays.map((s) => s.contactId))) {
    const mine = strays.filter((s) => s.contactId === contactId);
    const [open] = await tx
      .select({ id: conversations.id })
      .from(conversations)
      .where(and(eq(conversations.contactId, contactId), ne(conversations.status, 'resolved')))
      .orderBy(desc(conversations.lastMessageAt))
      .limit(1);
    const targetId =
      open?.id ??
      (await tx
        .insert(conversations)
        .values({ contactId, lastChannelId: mine.at(-1)!.channelId })
        .returning({ id: conversations.id }))[0]!.id;
    await tx.update(messages).set({ conversationId: targetId }).where(inArray(messages.id, mine.map((m) => m.id)));
  }
  const all = await tx.select({ id: conversations.id }).from(conversations).where(inArray(conversations.contactId, contactIds));
  await refreshConversations(tx, all.map((c) => c.id));
  return strays.map((s) => s.id);
}

/** Recomputes when a conversation was last active and on which channels, from its messages. */
async function refreshConversations(tx: Db, ids: string[]): Promise<void> {
  if (!ids.length) return;
  await tx.execute(sql`
    update conversations c set
      last_message_at = m.last_at,
      last_channel_id = coalesce(m.last_channel, c.last_channel_id),
      seen_channel_ids = m.seen
    from (
      select conversation_id,
        -- A staff note is not activity of the customer's conversation.
        coalesce(max(created_at) filter (where direction <> 'internal'), max(created_at)) as last_at,
        (array_agg(channel_id order by seq desc) filter (where direction = 'inbound'))[1] as last_channel,
        array(
          select x.channel_id from messages x where x.conversation_id = messages.conversation_id
          group by x.channel_id order by min(x.seq)
        ) as seen
      from messages
      where conversation_id in ${ids}
      group by conversation_id
    ) m
    where c.id = m.conversation_id`);
}

export const mergeListQuery = z.object({
  contactId: z.uuid().optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});

/** Merge records newest first, optionally those of one contact (as survivor or merged). */
export async function listMerges(db: Db, query: z.infer<typeof mergeListQuery>) {
  const rows = await db
    .select()
    .from(contactMerges)
    .where(
      and(
        query.contactId ? or(eq(contactMerges.survivorId, query.contactId), eq(contactMerges.mergedId, query.contactId)) : undefined,
        olderThan(contactMerges.createdAt, contactMerges.id, query.cursor),
      ),
    )
    .orderBy(desc(contactMerges.createdAt), desc(contactMerges.id))
    .limit(query.limit + 1);
  return toPage(rows, query.limit, (row) => [row.createdAt.toISOString(), row.id]);
}

export async function getMerge(db: Db, id: string): Promise<ContactMerge> {
  const [row] = await db.select().from(contactMerges).where(eq(contactMerges.id, id));
  if (!row) throw notFound('merge', id);
  return row;
}
