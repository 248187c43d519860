import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import { normalizeIdentityValue } from '../contacts/identity.js';
import { queryRows, type Db } from '../db/client.js';
import { campaignKinds, campaignRecipients, campaigns, campaignStatuses, channels, contactIdentities, identityKinds, type CampaignStatus } from '../db/schema.js';
import { badRequest, conflict, HubError, notFound } from '../errors.js';
import { messageCategories } from '../messages/outbound.js';
import { parseInput } from '../validation.js';
import { getAudience, storedFilter } from './audiences.js';
import { getTemplate } from './campaign-templates.js';
import { campaignSettings, type CampaignSettings } from './campaign-settings.js';

export const campaignInput = z
  .object({
    name: z.string().trim().min(1).max(200),
    kind: z.enum(campaignKinds).default('one_off'),
    /** Who receives it; triggered campaigns reach the contact each trigger names instead. */
    audienceId: z.uuid().optional(),
    templateId: z.uuid(),
    channelId: z.uuid(),
    category: z.enum(messageCategories).default('marketing'),
    settings: campaignSettings.default(campaignSettings.parse({})),
  })
  .strict()
  .refine((c) => c.kind === 'triggered' || c.audienceId, { message: 'one-off and recurring campaigns need an audienceId', path: ['audienceId'] })
  .refine((c) => c.kind !== 'recurring' || c.settings.cron, { message: 'a recurring campaign needs settings.cron', path: ['settings', 'cron'] });

export type CampaignRow = typeof campaigns.$inferSelect;

export const campaignListQuery = z.object({ status: z.enum(campaignStatuses).optional() });

export function settingsOf(campaign: CampaignRow): CampaignSettings {
  return campaignSettings.parse(campaign.settings);
}

export async function createCampaign(db: Db, userId: string, input: unknown): Promise<CampaignRow> {
  const parsed = parseInput(campaignInput, input);
  const template = await getTemplate(db, parsed.templateId);
  const [channel] = await db.select({ type: channels.type, name: channels.name }).from(channels).where(eq(channels.id, parsed.channelId));
  if (!channel) throw notFound('channel', parsed.channelId);
  if (channel.type !== template.channelType) {
    throw badRequest(`template ${template.name} is written for ${template.channelType}, channel ${channel.name} is ${channel.type}`);
  }
  if (parsed.audienceId) await getAudience(db, parsed.audienceId);
  const [row] = await db
    .insert(campaigns)
    .values({ ...parsed, audienceId: parsed.audienceId ?? null, createdBy: userId, settings: parsed.settings as Record<string, unknown> })
    .returning();
  return row!;
}

export async function getCampaign(db: Db, id: string): Promise<CampaignRow> {
  const [row] = await db.select().from(campaigns).where(eq(campaigns.id, id));
  if (!row) throw notFound('campaign', id);
  return row;
}

/** Campaigns newest first, each with its totals, for the list screen. */
export async function listCampaigns(db: Db, query: z.infer<typeof campaignListQuery>) {
  const rows = await db
    .select()
    .from(campaigns)
    .where(query.status ? eq(campaigns.status, query.status) : undefined)
    .orderBy(desc(campaigns.createdAt))
    .limit(200);
  const totals = await readTotals(db, rows.map((r) => r.id));
  return { items: rows.map((row) => ({ ...row, totals: totals.get(row.id) ?? emptyTotals() })) };
}

const outcomeStatuses = ['pending', 'deferred', 'queued', 'sent', 'delivered', 'read', 'failed', 'unknown', 'skipped'] as const;
type Totals = Record<(typeof outcomeStatuses)[number] | 'recipients', number>;
const emptyTotals = (): Totals => Object.fromEntries(['recipients', ...outcomeStatuses].map((k) => [k, 0])) as Totals;

/** A recipient's outcome: its own status until queued, then its message's (sending counts as queued). */
const outcome = sql<string>`case when r.status <> 'queued' then r.status when m.status in ('queued', 'sending') or m.status is null then 'queued' else m.status end`;

async function readTotals(db: Db, ids: string[]): Promise<Map<string, Totals>> {
  const result = new Map<string, Totals>();
  if (!ids.length) return result;
  const rows = await queryRows<{ campaignId: string; outcome: string; n: number }>(
    db,
    sql`select r.campaign_id as "campaignId", ${outcome} as outcome, count(*)::int as n
      from campaign_recipients r left join messages m on m.id = r.message_id
      where r.campaign_id in ${ids} group by 1, 2`,
  );
  for (const row of rows) {
    const totals = result.get(row.campaignId) ?? emptyTotals();
    totals[row.outcome as keyof Totals] = (totals[row.outcome as keyof Totals] ?? 0) + row.n;
    totals.recipients += row.n;
    result.set(row.campaignId, totals);
  }
  return result;
}

/**
 * A campaign's results: totals by outcome, skips by reason, failures by the provider's code, and
 * messages sent per minute for the chart. Aggregates only: no message content.
 */
export async function readCampaignResults(db: Db, id: string) {
  const campaign = await getCampaign(db, id);
  const totals = (await readTotals(db, [id])).get(id) ?? emptyTotals();
  const reasons = await queryRows<{ reason: string; n: number }>(
    db,
    sql`select coalesce(reason, 'unknown') as reason, count(*)::int as n from campaign_recipients where campaign_id = ${id} and status in ('skipped', 'deferred') group by 1 order by 2 desc`,
  );
  const failures = await queryRows<{ code: string; n: number }>(
    db,
    sql`select coalesce(m.error_code, 'unknown') as code, count(*)::int as n from campaign_recipients r join messages m on m.id = r.message_id
      where r.campaign_id = ${id} and m.status in ('failed', 'unknown') group by 1 order by 2 desc`,
  );
  const timeline = await queryRows<{ at: string; sent: number; failed: number }>(
    db,
    sql`select to_char(date_trunc('minute', coalesce(m.sent_at, m.updated_at)) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:00"Z"') as at,
        (count(*) filter (where m.status in ('sent', 'delivered', 'read')))::int as sent,
        (count(*) filter (where m.status in ('failed', 'unknown')))::int as failed
      from campaign_recipients r join messages m on m.id = r.message_id
      where r.campaign_id = ${id} and m.status in ('sent', 'delivered', 'read', 'failed', 'unknown') group by 1 order by 1`,
  );
  return { campaign: { id: campaign.id, name: campaign.name, status: campaign.status }, totals, skipped: reasons, failures, timeline };
}

export const recipientListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  outcome: z.enum(outcomeStatuses).optional(),
});

/** Recipients with their outcome and reason or error code (never the message text). */
export async function listRecipients(db: Db, id: string, query: z.infer<typeof recipientListQuery>) {
  await getCampaign(db, id);
  const items = await queryRows<Record<string, unknown>>(
    db,
    sql`select * from (select r.id, r.contact_id as "contactId", c.name as "contactName", r.run_key as "runKey", ${outcome} as outcome,
        r.reason, m.error_code as "errorCode", r.due_at as "dueAt", coalesce(m.sent_at, r.updated_at) as "updatedAt"
      from campaign_recipients r join contacts c on c.id = r.contact_id left join messages m on m.id = r.message_id
      where r.campaign_id = ${id}) x ${query.outcome ? sql`where x.outcome = ${query.outcome}` : sql``}
      order by x."updatedAt" desc limit ${query.limit}`,
  );
  return { items };
}

/** Moves a campaign from one of `from` to `to`, or says why it cannot. */
async function transition(db: Db, id: string, from: readonly CampaignStatus[], to: CampaignStatus, extra: Partial<typeof campaigns.$inferInsert> = {}) {
  const [row] = await db
    .update(campaigns)
    .set({ status: to, updatedAt: sql`now()`, ...extra })
    .where(and(eq(campaigns.id, id), inArray(campaigns.status, [...from])))
    .returning();
  if (row) return row;
  const current = await getCampaign(db, id);
  throw new HubError(409, 'campaign_state', `campaign ${current.name} is ${current.status}; it cannot become ${to}`);
}

/** Starts a draft: a one-off with a future time waits `scheduled`; everything else runs. */
export async function startCampaign(db: Db, id: string): Promise<CampaignRow> {
  const campaign = await getCampaign(db, id);
  const settings = settingsOf(campaign);
  if (campaign.audienceId) storedFilter(await getAudience(db, campaign.audienceId));
  const later = campaign.kind === 'one_off' && settings.scheduledAt && new Date(settings.scheduledAt).getTime() > Date.now();
  return transition(db, id, ['draft'], later ? 'scheduled' : 'running');
}

export const pauseCampaign = (db: Db, id: string) => transition(db, id, ['running', 'scheduled'], 'paused');

/** Resumes a paused campaign: a one-off whose time has not come waits again. */
export async function resumeCampaign(db: Db, id: string): Promise<CampaignRow> {
  const campaign = await getCampaign(db, id);
  const settings = settingsOf(campaign);
  const later = campaign.kind === 'one_off' && !campaign.startedAt && settings.scheduledAt && new Date(settings.scheduledAt).getTime() > Date.now();
  return db.transaction(async (tx) => {
    const row = await transition(tx, id, ['paused'], later ? 'scheduled' : 'running');
    // Send slots reserved before the pause have passed: the recipients queue for new ones.
    await tx
      .update(campaignRecipients)
      .set({ reason: null, updatedAt: sql`now()` })
      .where(and(eq(campaignRecipients.campaignId, id), eq(campaignRecipients.status, 'pending'), eq(campaignRecipients.reason, 'rate_limited')));
    return row;
  });
}

/** Cancels a campaign: recipients not yet handed to a channel are skipped; messages already queued still go. */
export async function cancelCampaign(db: Db, id: string): Promise<CampaignRow> {
  return db.transaction(async (tx) => {
    const row = await transition(tx, id, ['draft', 'scheduled', 'running', 'paused'], 'cancelled', { finishedAt: new Date() });
    await tx
      .update(campaignRecipients)
      .set({ status: 'skipped', reason: 'cancelled', updatedAt: sql`now()` })
      .where(and(eq(campaignRecipients.campaignId, id), inArray(campaignRecipients.status, ['pending', 'deferred'])));
    return row;
  });
}

/** Whether a campaign is awaiting its run (resume re-enqueues the recipients still open). */
export async function listOpenRecipients(db: Db, campaignId: string, limit = 10_000) {
  return db
    .select({ id: campaignRecipients.id, dueAt: campaignRecipients.dueAt })
    .from(campaignRecipients)
    .where(and(eq(campaignRecipients.campaignId, campaignId), inArray(campaignRecipients.status, ['pending', 'deferred'])))
    .limit(limit);
}

export const triggerInput = z
  .object({
    /** Who: one of their identities, or the bank's customer number (an external_id identity). */
    contact: z.union([z.object({ kind: z.enum(identityKinds), value: z.string().trim().min(1).max(320) }).strict(), z.object({ externalId: z.string().trim().min(1).max(200) }).strict()]),
    variables: z.record(z.string().regex(/^[A-Za-z0-9_]{1,64}$/), z.string().max(1_000)).default({}),
    /** The bank's id for the event: posting it again triggers nothing more. */
    idempotencyKey: z.string().trim().min(1).max(200).optional(),
  })
  .strict();

/** Adds the contact a bank system names to a running triggered campaign, once per idempotency key. */
export async function triggerCampaign(db: Db, campaignId: string, input: unknown) {
  const parsed = parseInput(triggerInput, input);
  const campaign = await getCampaign(db, campaignId);
  if (campaign.kind !== 'triggered') throw conflict(`campaign ${campaign.name} is ${campaign.kind.replace('_', '-')}, not triggered`);
  if (campaign.status !== 'running') throw new HubError(409, 'campaign_state', `campaign ${campaign.name} is ${campaign.status}, not running`);
  const identity = 'externalId' in parsed.contact ? { kind: 'external_id' as const, value: parsed.contact.externalId } : parsed.contact;
  let value: string;
  try {
    value = normalizeIdentityValue(identity.kind, identity.value);
  } catch (error) {
    throw badRequest(`contact: ${(error as Error).message}`);
  }
  const [found] = await db
    .select({ contactId: contactIdentities.contactId })
    .from(contactIdentities)
    .where(and(eq(contactIdentities.kind, identity.kind), eq(contactIdentities.value, value)))
    .limit(1);
  if (!found) throw new HubError(404, 'contact_not_found', `no contact has ${identity.kind} ${identity.value}`);
  const runKey = `trigger:${parsed.idempotencyKey ?? crypto.randomUUID()}`;
  const [inserted] = await db
    .insert(campaignRecipients)
    .values({ campaignId, runKey, contactId: found.contactId, variables: parsed.variables })
    .onConflictDoNothing()
    .returning({ id: campaignRecipients.id, dueAt: campaignRecipients.dueAt });
  if (inserted) return { recipient: inserted, created: true };
  const [existing] = await db
    .select({ id: campaignRecipients.id, dueAt: campaignRecipients.dueAt })
    .from(campaignRecipients)
    .where(and(eq(campaignRecipients.campaignId, campaignId), eq(campaignRecipients.runKey, runKey), eq(campaignRecipients.contactId, found.contactId)));
  return { recipient: existing!, created: false };
}
