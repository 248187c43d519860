import { and, asc, desc, eq, isNotNull, or, sql, type SQL } from 'drizzle-orm';
import { alias, type AnyPgColumn } from 'drizzle-orm/pg-core';
import { z } from 'zod';
import { recordAudit } from '../audit.js';
import type { Db } from '../db/client.js';
import { channels, contactMerges, contacts, conversations, identityKinds, mergeSuggestions, messages, type IdentityKind } from '../db/schema.js';
import { badRequest } from '../errors.js';
import { cursorPart, decodeCursor, toPage } from '../pagination.js';
import { jsonDepth, parseInput } from '../validation.js';
import { lockContacts, resolveLiveContactId } from './contact-merge.js';
import { getContact } from './contact-queries.js';
import { IdentityValueError, normalizeIdentityValue } from './identity.js';
import { findIdentity, linkIdentities, type IdentityClaim } from './identity-links.js';

/** Kinds whose values only mean something inside one channel: they need the channel they belong to. */
const channelScopedKinds: readonly IdentityKind[] = ['wechat_openid'];

const isTimeZone = (zone: string) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
};

/** Custom attributes are a CRM's flat facts; a few levels of structure are plenty. */
const maxAttributeDepth = 8;

export const contactAttributesInput = z
  .object({
    name: z.string().trim().min(1).max(200).nullable(),
    language: z
      .string()
      .regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'expected a language tag such as zh-CN or en')
      .nullable(),
    timezone: z.string().refine(isTimeZone, 'expected an IANA time zone such as Asia/Shanghai').nullable(),
    tier: z.string().trim().min(1).max(50).nullable(),
    birthday: z.iso.date('expected a date as YYYY-MM-DD').nullable(),
    /** Replaces the contact's tags. */
    tags: z.array(z.string().trim().min(1).max(64)).max(100),
    /** Merged into the custom attributes; a key set to null is removed. */
    attributes: z
      .record(z.string().min(1).max(100), z.unknown())
      .refine((attributes) => jsonDepth(attributes, maxAttributeDepth) <= maxAttributeDepth, `attributes may nest at most ${maxAttributeDepth} levels`),
  })
  .partial()
  .strict();
type ContactAttributesInput = z.infer<typeof contactAttributesInput>;

export const identityInput = z.object({
  kind: z.enum(identityKinds),
  value: z.string().trim().min(1).max(320),
  /** Whether the caller has proven the identity belongs to the person (verified identities may merge contacts). */
  verified: z.boolean().default(false),
  /** The channel a channel-scoped identity (wechat_openid) belongs to. */
  channelId: z.uuid().optional(),
});

export const upsertContactInput = contactAttributesInput.extend({ identities: z.array(identityInput).min(1).max(20) });

function claimsOf(identities: z.infer<typeof identityInput>[], source: string): IdentityClaim[] {
  return identities.map((identity, index) => {
    const scoped = channelScopedKinds.includes(identity.kind);
    if (scoped && !identity.channelId) throw badRequest(`identities.${index}: ${identity.kind} needs the channelId it belongs to`);
    try {
      return {
        kind: identity.kind,
        value: normalizeIdentityValue(identity.kind, identity.value),
        scope: scoped ? identity.channelId! : '',
        verified: identity.verified,
        source,
      };
    } catch (error) {
      if (error instanceof IdentityValueError) throw badRequest(`identities.${index}: ${error.message}`);
      throw error;
    }
  });
}

async function applyAttributes(tx: Db, contactId: string, input: ContactAttributesInput): Promise<void> {
  const { attributes, ...columns } = input;
  const [current] = await lockContacts(tx, [contactId]).then((m) => [...m.values()]);
  let merged = current!.attributes;
  if (attributes) {
    merged = { ...merged, ...attributes };
    for (const [key, value] of Object.entries(attributes)) if (value === null) delete merged[key];
  }
  await tx
    .update(contacts)
    .set({ ...columns, attributes: merged, updatedAt: sql`now()` })
    .where(eq(contacts.id, contactId));
}

/**
 * Creates or updates the contact that carries any of the given identities, as a bank's systems
 * push customers. Identities found on different contacts merge them when verified and allowed by
 * the rules, or become merge suggestions.
 */
export async function upsertContact(deps: { db: Db }, actorUserId: string, input: unknown) {
  const { identities, ...attributes } = parseInput(upsertContactInput, input);
  const claims = claimsOf(identities, 'api');
  const result = await deps.db.transaction(async (tx) => {
    // Two pushes of the same new customer at once would otherwise both create a contact.
    for (const key of [...new Set(claims.map((c) => `${c.kind}:${c.scope}:${c.value}`))].sort()) {
      await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${key}))`);
    }
    let owner: string | undefined;
    for (const claim of claims) owner ??= (await findIdentity(tx, claim))?.contactId;
    const contactId = owner ?? (await tx.insert(contacts).values({}).returning({ id: contacts.id }))[0]!.id;
    const links = await linkIdentities(tx, contactId, claims, actorUserId);
    await applyAttributes(tx, links.contactId, attributes);
    await recordAudit(tx, { actorUserId, action: owner ? 'contact.update' : 'contact.create', targetType: 'contact', targetId: links.contactId, details: { via: 'upsert', attributes, identities: claims.map(({ kind, value, verified }) => ({ kind, value, verified })) } });
    return { created: !owner, links };
  });
  return {
    created: result.created,
    contact: await getContact(deps.db, result.links.contactId),
    merges: result.links.merges.map((m) => m.id),
    suggestions: result.links.suggestions,
  };
}

/** Updates a contact's attributes; a merged contact's id updates the contact it was merged into. */
export async function updateContact(deps: { db: Db }, actorUserId: string, id: string, input: unknown) {
  const attributes = parseInput(contactAttributesInput, input);
  const contactId = await deps.db.transaction(async (tx) => {
    const live = await resolveLiveContactId(tx, id);
    await applyAttributes(tx, live, attributes);
    await recordAudit(tx, { actorUserId, action: 'contact.update', targetType: 'contact', targetId: live, details: { attributes } });
    return live;
  });
  return getContact(deps.db, contactId);
}

/** Adds identities to a contact; one another contact carries merges or is suggested, as in upsert. */
export async function addIdentities(deps: { db: Db }, actorUserId: string, id: string, input: unknown) {
  const { identities } = parseInput(z.object({ identities: z.array(identityInput).min(1).max(20) }), input);
  const claims = claimsOf(identities, 'api');
  const links = await deps.db.transaction(async (tx) => {
    const live = await resolveLiveContactId(tx, id);
    const outcome = await linkIdentities(tx, live, claims, actorUserId);
    await recordAudit(tx, { actorUserId, action: 'contact.identities_add', targetType: 'contact', targetId: live, details: { identities: claims.map(({ kind, value, verified }) => ({ kind, value, verified })) } });
    return outcome;
  });
  return { contact: await getContact(deps.db, links.contactId), merges: links.merges.map((m) => m.id), suggestions: links.suggestions };
}

/** Contacts that an unverified (or rule-blocked) identity links to this one, with the reason. */
export async function listDuplicates(db: Db, id: string) {
  const live = await resolveLiveContactId(db, id);
  const rows = await db
    .select()
    .from(mergeSuggestions)
    .where(or(eq(mergeSuggestions.contactId, live), eq(mergeSuggestions.otherContactId, live)))
    .orderBy(asc(mergeSuggestions.createdAt));
  const items = [];
  const seen = new Set<string>();
  for (const row of rows) {
    const other = await resolveLiveContactId(db, row.contactId === live ? row.otherContactId : row.contactId);
    const key = `${other}:${row.kind}:${row.value}`;
    if (other === live || seen.has(key)) continue;
    seen.add(key);
    items.push({ contactId: other, kind: row.kind, value: row.value, reason: row.reason, suggestedAt: row.createdAt });
  }
  return { contactId: live, items };
}

/** A timeline position: the entry's instant as `instant` writes it, and its tie-breaker (m + seq, a/u + merge id). */
const timelineCursor = z.tuple([cursorPart.timestamp, z.string().regex(/^(m\d{19}|[au][0-9a-f-]{36})$/)]);

/** A timestamp as text with its microseconds, so cursors compare exactly as the database orders. */
const instant = (column: SQL | AnyPgColumn) => sql<string>`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

export const timelineQuery = z.object({
  /** `desc`: newest first, each page older than the last, for a console reading the history from its end. */
  order: z.enum(['asc', 'desc']).default('asc'),
});

const conversationChannels = alias(channels, 'conversation_channel');

/**
 * Everything that happened to the contact across channels and conversations, oldest first (or
 * newest first with `order: 'desc'`): its messages, each with its channel and its conversation's
 * start, status and first channel so a reader can tell the conversations apart, and the merges and
 * undos it took part in. A merge made while a message was processed lists just before that message.
 */
export async function listTimeline(db: Db, id: string, page: { limit: number; cursor?: string | undefined; order?: 'asc' | 'desc' | undefined }) {
  const live = await resolveLiveContactId(db, id);
  const from = decodeCursor(page.cursor, timelineCursor);
  const newestFirst = page.order === 'desc';
  const beyond = (at: SQL, tie: SQL) => (from ? (newestFirst ? sql`(${at}, ${tie}) < (${from[0]}, ${from[1]})` : sql`(${at}, ${tie}) > (${from[0]}, ${from[1]})`) : undefined);
  const direction = newestFirst ? desc : asc;

  const messageAt = instant(messages.createdAt);
  const messageTie = sql<string>`'m' || lpad(${messages.seq}::text, 19, '0')`;
  const messageRows = await db
    .select({
      at: messageAt,
      tie: messageTie,
      id: messages.id,
      conversationId: messages.conversationId,
      contactId: messages.contactId,
      channelId: messages.channelId,
      identityId: messages.identityId,
      direction: messages.direction,
      authorKind: messages.authorKind,
      authorId: messages.authorId,
      contentKind: messages.contentKind,
      text: messages.text,
      payload: messages.payload,
      status: messages.status,
      errorCode: messages.errorCode,
      errorMessage: messages.errorMessage,
      createdAt: messages.createdAt,
      sentAt: messages.sentAt,
      seq: messages.seq,
      channel: { type: channels.type, name: channels.name },
      conversation: {
        status: conversations.status,
        createdAt: conversations.createdAt,
        channelId: conversationChannels.id,
        channelType: conversationChannels.type,
        channelName: conversationChannels.name,
      },
    })
    .from(messages)
    .leftJoin(channels, eq(channels.id, messages.channelId))
    .innerJoin(conversations, eq(conversations.id, messages.conversationId))
    .leftJoin(conversationChannels, sql`${conversationChannels.id} = ${conversations.seenChannelIds}[1]`)
    .where(and(eq(messages.contactId, live), beyond(messageAt, messageTie)))
    .orderBy(direction(messages.createdAt), direction(messages.seq))
    .limit(page.limit + 1);

  const involved = or(eq(contactMerges.survivorId, live), eq(contactMerges.mergedId, live));
  const mergeColumns = { mergeId: contactMerges.id, survivorId: contactMerges.survivorId, mergedId: contactMerges.mergedId, rule: contactMerges.rule };
  const mergedAt = instant(contactMerges.createdAt);
  const mergedTie = sql<string>`'a' || ${contactMerges.id}::text`;
  const mergeRows = await db
    .select({ at: mergedAt, tie: mergedTie, ...mergeColumns })
    .from(contactMerges)
    .where(and(involved, beyond(mergedAt, mergedTie)))
    .orderBy(direction(contactMerges.createdAt))
    .limit(page.limit + 1);
  const undoneAt = instant(contactMerges.undoneAt);
  const undoneTie = sql<string>`'u' || ${contactMerges.id}::text`;
  const undoRows = await db
    .select({ at: undoneAt, tie: undoneTie, ...mergeColumns })
    .from(contactMerges)
    .where(and(involved, isNotNull(contactMerges.undoneAt), beyond(undoneAt, undoneTie)))
    .orderBy(direction(contactMerges.undoneAt))
    .limit(page.limit + 1);

  const entries = [
    ...messageRows.map(({ tie, ...row }) => ({ type: 'message' as const, tie, ...row })),
    ...mergeRows.map(({ tie, ...row }) => ({ type: 'contact.merged' as const, tie, ...row })),
    ...undoRows.map(({ tie, ...row }) => ({ type: 'contact.merge_undone' as const, tie, ...row })),
  ].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.tie < b.tie ? -1 : a.tie > b.tie ? 1 : 0));
  if (newestFirst) entries.reverse();
  const pageOf = toPage(entries, page.limit, (entry) => [entry.at, entry.tie]);
  return { contactId: live, items: pageOf.items.map(({ tie: _tie, ...entry }) => entry), nextCursor: pageOf.nextCursor };
}
