import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../db/client.js';
import { enabledRulesJson, parseEnabledRules, sameTier } from './routing-rules.js';
import { parseRoutingSettings, storedRoutingSettings } from './routing-settings.js';

/** What routing makes of a contact's tier, for the contact's answer. */
export interface TierRouting {
  /** One of the settings' `vipTiers`: the contact's conversations get at least `vipPriority`. */
  vip: boolean;
  /** The priority a VIP gets; null when the tier is not a VIP tier. */
  vipPriority: number | null;
  /** Enabled routing rules whose `tiers` condition names the tier. */
  ruleIds: string[];
  /** Whether any routing setting or rule knows the tier; an unknown tier routes like no tier at all. */
  known: boolean;
  /** Set when the tier is unknown, saying so: a CRM that writes a tier nobody routes on should hear of it. */
  warning?: string;
}

/**
 * How routing treats a tier, compared as routing compares it (without regard to case). A tier no
 * setting or rule knows is not refused (a bank's CRM has tiers routing does not care about), but
 * reported, so an integrator who meant "VIP" and wrote "V.I.P." finds out before a customer waits.
 */
export async function describeTierRouting(db: Db, tier: string | null): Promise<TierRouting | null> {
  if (tier === null) return null;
  const [row] = await queryRows<{ settings: Record<string, unknown> | null; rules: { id: string; conditions: unknown; actions: unknown }[] }>(
    db,
    sql`select ${storedRoutingSettings} as settings, ${enabledRulesJson} as rules`,
  );
  const settings = parseRoutingSettings(row!.settings);
  const vip = settings.vipTiers.some((vipTier) => sameTier(vipTier, tier));
  const ruleIds = parseEnabledRules(row!.rules)
    .filter((rule) => rule.conditions.tiers?.some((ruleTier) => sameTier(ruleTier, tier)))
    .map((rule) => rule.id);
  const known = vip || ruleIds.length > 0;
  return {
    vip,
    vipPriority: vip ? settings.vipPriority : null,
    ruleIds,
    known,
    ...(known
      ? {}
      : {
          warning: `tier "${tier}" is not one of the routing VIP tiers (${settings.vipTiers.join(', ') || 'none'}) and no enabled routing rule names it: routing treats this contact like one without a tier`,
        }),
  };
}
