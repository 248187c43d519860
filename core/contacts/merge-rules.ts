import { sql } from 'drizzle-orm';
import { z } from 'zod';
import { recordAudit } from '../audit.js';
import type { Db } from '../db/client.js';
import { identityKinds, identityMergeRules, type IdentityKind } from '../db/schema.js';
import { parseInput } from '../validation.js';

export interface MergeRule {
  kind: IdentityKind;
  autoMerge: boolean;
  allowSeveral: boolean;
}

/**
 * Built-in rules. An anonymous widget visitor proves nothing about a person, so it never merges;
 * a customer has one bank customer number, one app login and one unionid, and by default one
 * verified mobile number, while several verified email addresses are common.
 */
const defaultRules: Record<IdentityKind, Omit<MergeRule, 'kind'>> = {
  phone: { autoMerge: true, allowSeveral: false },
  email: { autoMerge: true, allowSeveral: true },
  wechat_openid: { autoMerge: true, allowSeveral: true },
  wechat_unionid: { autoMerge: true, allowSeveral: false },
  app_user: { autoMerge: true, allowSeveral: false },
  web_visitor: { autoMerge: false, allowSeveral: true },
  external_id: { autoMerge: true, allowSeveral: false },
};

export type MergeRules = Record<IdentityKind, MergeRule>;

/** The rules in force: the admin's overrides over the defaults. */
export async function loadMergeRules(db: Db): Promise<MergeRules> {
  const stored = await db.select().from(identityMergeRules);
  const rules = Object.fromEntries(identityKinds.map((kind) => [kind, { kind, ...defaultRules[kind] }])) as MergeRules;
  for (const row of stored) rules[row.kind] = { kind: row.kind, autoMerge: row.autoMerge, allowSeveral: row.allowSeveral };
  return rules;
}

export const mergeRuleInput = z
  .object({ autoMerge: z.boolean().optional(), allowSeveral: z.boolean().optional() })
  .refine((v) => v.autoMerge !== undefined || v.allowSeveral !== undefined, 'give autoMerge or allowSeveral');

export const identityKindParam = z.enum(identityKinds);

/** Changes the rule for one identity kind; the change is audited with the rule before and after. */
export async function updateMergeRule(db: Db, actorUserId: string, kindRaw: string, input: unknown): Promise<MergeRule> {
  const kind = parseInput(identityKindParam, kindRaw, 'identity kind');
  const change = parseInput(mergeRuleInput, input);
  return db.transaction(async (tx) => {
    const before = (await loadMergeRules(tx))[kind];
    const after: MergeRule = { ...before, ...change };
    await tx
      .insert(identityMergeRules)
      .values(after)
      .onConflictDoUpdate({
        target: identityMergeRules.kind,
        set: { autoMerge: after.autoMerge, allowSeveral: after.allowSeveral, updatedAt: sql`now()` },
      });
    await recordAudit(tx, { actorUserId, action: 'merge_rule.update', targetType: 'identity_merge_rule', targetId: kind, details: { before, after } });
    return after;
  });
}
