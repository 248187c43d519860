import { and, eq, inArray, isNotNull, or, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { contactIdentities, contactMerges, mergeSuggestions, type IdentityKind } from '../db/schema.js';
import { lockContacts, mergeLockedContacts, resolveLiveContactId, type ContactMerge } from './contact-merge.js';
import { loadMergeRules, type MergeRules } from './merge-rules.js';

/** An identity someone says belongs to a contact, value already normalized. */
export interface IdentityClaim {
  kind: IdentityKind;
  value: string;
  scope: string;
  verified: boolean;
  source: string;
}

export interface LinkOutcome {
  /** The live contact that carries the claims now (the survivor when a merge happened). */
  contactId: string;
  merges: ContactMerge[];
  suggestions: Array<{ otherContactId: string; kind: IdentityKind; value: string; reason: string }>;
}

export async function findIdentity(tx: Db, claim: Pick<IdentityClaim, 'kind' | 'scope' | 'value'>) {
  const [row] = await tx
    .select({ id: contactIdentities.id, contactId: contactIdentities.contactId, verified: contactIdentities.verified })
    .from(contactIdentities)
    .where(and(eq(contactIdentities.kind, claim.kind), eq(contactIdentities.scope, claim.scope), eq(contactIdentities.value, claim.value)));
  return row;
}

/**
 * Puts each claimed identity on the contact. An identity another contact already carries merges
 * the two when it is verified and the admin's rules allow it; otherwise the pair is recorded as a
 * merge suggestion with the reason, and the identity stays where it is.
 */
export async function linkIdentities(tx: Db, contactId: string, claims: IdentityClaim[], actorUserId: string | null = null): Promise<LinkOutcome> {
  const outcome: LinkOutcome = { contactId, merges: [], suggestions: [] };
  let rules: MergeRules | undefined;
  for (const claim of claims) {
    let existing = await findIdentity(tx, claim);
    if (!existing) {
      const [inserted] = await tx
        .insert(contactIdentities)
        .values({ contactId: outcome.contactId, kind: claim.kind, scope: claim.scope, value: claim.value, verified: claim.verified, source: claim.source })
        .onConflictDoNothing()
        .returning({ id: contactIdentities.id });
      if (inserted) continue;
      // Another transaction inserted it meanwhile: treat it like an identity found.
      existing = await findIdentity(tx, claim);
      if (!existing) throw new Error(`identity ${claim.kind} vanished while linking it`);
    }
    if (claim.verified && !existing.verified) {
      await tx.update(contactIdentities).set({ verified: true }).where(eq(contactIdentities.id, existing.id));
    }
    if (existing.contactId === outcome.contactId) continue;

    rules ??= await loadMergeRules(tx);
    let reason: string;
    if (claim.verified && rules[claim.kind].autoMerge) {
      const result = await mergeByRule(tx, outcome.contactId, existing.contactId, claim, rules, actorUserId);
      if (result.merged || result.alreadyOne) {
        outcome.contactId = result.survivorId;
        if (result.merged) outcome.merges.push(result.merged);
        continue;
      }
      reason = result.reason;
    } else {
      reason = claim.verified
        ? `verified ${claim.kind} ${claim.value} is on both, but automatic merges on ${claim.kind} are turned off`
        : `unverified ${claim.kind} ${claim.value} matches`;
    }
    await tx
      .insert(mergeSuggestions)
      .values({ contactId: outcome.contactId, otherContactId: existing.contactId, kind: claim.kind, value: claim.value, reason })
      .onConflictDoNothing();
    outcome.suggestions.push({ otherContactId: existing.contactId, kind: claim.kind, value: claim.value, reason });
  }
  return outcome;
}

type RuleMergeResult =
  | { merged: ContactMerge; alreadyOne?: undefined; survivorId: string }
  | { merged?: undefined; alreadyOne: true; survivorId: string }
  | { merged?: undefined; alreadyOne?: undefined; reason: string };

/**
 * Merges two contacts a verified identity links, the older one surviving. Both rows are locked
 * first and re-read, so when two workers link the same pair at once the second finds the merge
 * already done and merges nothing.
 */
async function mergeByRule(tx: Db, a: string, b: string, claim: IdentityClaim, rules: MergeRules, actorUserId: string | null): Promise<RuleMergeResult> {
  const locked = await lockContacts(tx, [a, b]);
  const [liveA, liveB] = [await resolveLiveContactId(tx, a), await resolveLiveContactId(tx, b)];
  if (liveA === liveB) return { alreadyOne: true, survivorId: liveA };
  if (liveA !== a || liveB !== b) {
    // A concurrent merge moved one of them elsewhere: retrying the whole event sees the new state.
    throw new Error(`contacts ${a} and ${b} changed while being merged; retry`);
  }
  // Someone judged these two to be different customers: only a person may merge them again.
  const [undone] = await tx
    .select({ id: contactMerges.id })
    .from(contactMerges)
    .where(
      and(
        isNotNull(contactMerges.undoneAt),
        or(and(eq(contactMerges.survivorId, a), eq(contactMerges.mergedId, b)), and(eq(contactMerges.survivorId, b), eq(contactMerges.mergedId, a))),
      ),
    )
    .limit(1);
  if (undone) return { reason: `verified ${claim.kind} ${claim.value} links them, but merge ${undone.id} of these contacts was undone` };
  const blocking = await conflictingKinds(tx, a, b, rules);
  if (blocking.length) {
    return { reason: `verified ${claim.kind} ${claim.value} links them, but they carry different verified ${blocking.join(', ')}` };
  }
  const [older, newer] = [locked.get(a)!, locked.get(b)!].sort(
    (x, y) => x.createdAt.getTime() - y.createdAt.getTime() || x.id.localeCompare(y.id),
  ) as [NonNullable<ReturnType<typeof locked.get>>, NonNullable<ReturnType<typeof locked.get>>];
  const merged = await mergeLockedContacts(tx, older, newer, {
    rule: `auto:${claim.kind}`,
    actorUserId,
    reason: { identity: { kind: claim.kind, scope: claim.scope, value: claim.value }, source: claim.source },
  });
  return { merged, survivorId: older.id };
}

/** Single-valued kinds on which the two contacts carry different verified values. */
async function conflictingKinds(tx: Db, a: string, b: string, rules: MergeRules): Promise<IdentityKind[]> {
  const single = Object.values(rules)
    .filter((r) => !r.allowSeveral)
    .map((r) => r.kind);
  if (!single.length) return [];
  const rows = await tx
    .select({ kind: contactIdentities.kind })
    .from(contactIdentities)
    .where(and(inArray(contactIdentities.contactId, [a, b]), eq(contactIdentities.verified, true), inArray(contactIdentities.kind, single)))
    .groupBy(contactIdentities.kind)
    .having(sql`count(distinct ${contactIdentities.contactId}) = 2 and count(distinct ${contactIdentities.value}) > 1`);
  return rows.map((r) => r.kind);
}
