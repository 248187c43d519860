import { and, desc, eq, inArray, lte, ne, sql } from 'drizzle-orm';
import type { AdapterRegistry } from '../channels/contract.js';
import { currentConsent } from '../consents/consents.js';
import { queryRows, type Db } from '../db/client.js';
import { campaignRecipients, campaigns, campaignTemplates, contacts, conversations, type CampaignStatus } from '../db/schema.js';
import { HubError } from '../errors.js';
import { queueOutboundMessage, type MessageCategory } from '../messages/outbound.js';
import { getAudience, storedFilter } from './audiences.js';
import { compileAudienceFilter } from './audience-filter.js';
import { renderTemplate } from './campaign-templates.js';
import { quietHoursEnd, zoneFor } from './campaign-settings.js';
import { getCampaign, settingsOf } from './campaigns.js';

const batchSize = 1_000;

/**
 * Writes one recipient row per contact of the campaign's audience for a run, in keyset batches so
 * memory stays flat whatever the audience's size. Rows are unique per run and contact: a repeated
 * or resumed materialisation adds only the missing ones. `onBatch` gets the new rows to enqueue.
 */
export async function materializeRun(
  db: Db,
  campaignId: string,
  runKey: string,
  onBatch: (rows: Array<{ id: string; dueAt: Date }>) => Promise<void>,
): Promise<{ recipients: number } | { skipped: string }> {
  const campaign = await getCampaign(db, campaignId);
  if (campaign.status !== 'running') return { skipped: `campaign is ${campaign.status}` };
  if (!campaign.audienceId) return { skipped: 'campaign has no audience' };
  const where = compileAudienceFilter(storedFilter(await getAudience(db, campaign.audienceId)));
  let after = '00000000-0000-0000-0000-000000000000';
  let recipients = 0;
  for (;;) {
    const [batch] = await queryRows<{ last: string | null; n: number; added: Array<{ id: string; dueAt: string }> }>(
      db,
      sql`with batch as (select c.id from contacts c where ${where} and c.id > ${after}::uuid order by c.id limit ${batchSize}),
        added as (insert into campaign_recipients (campaign_id, run_key, contact_id) select ${campaignId}::uuid, ${runKey}, id from batch
          on conflict do nothing returning id, due_at)
        select (select id from batch order by id desc limit 1) as last, (select count(*)::int from batch) as n,
          coalesce((select jsonb_agg(jsonb_build_object('id', id, 'dueAt', due_at)) from added), '[]'::jsonb) as added`,
    );
    recipients += batch!.n;
    if (batch!.added.length) await onBatch(batch!.added.map((r) => ({ id: r.id, dueAt: new Date(r.dueAt) })));
    if (batch!.n < batchSize || !batch!.last) break;
    after = batch!.last;
  }
  if (runKey === 'once') {
    await db.update(campaigns).set({ startedAt: sql`now()`, updatedAt: sql`now()` }).where(eq(campaigns.id, campaignId));
  }
  return { recipients };
}

export interface RecipientDeps {
  db: Db;
  adapters: AdapterRegistry;
  /** Reserves the channel's next send slot at the given rate; answers how long until it (0: now). */
  takeSendSlot(channelId: string, ratePerSecond: number): Promise<number>;
}

export type RecipientOutcome =
  | { result: 'done'; status: string }
  /** The message is queued: announce it so the pipeline delivers it. */
  | { result: 'queued'; message: { id: string; conversationId: string; contactId: string; channelId: string } }
  /** Not due yet (quiet hours, or waiting for its slot in the channel's rate): try again at `dueAt`. */
  | { result: 'deferred'; dueAt: Date };

const openStatuses = ['pending', 'deferred'] as const;

/**
 * Sends one recipient's message, after the guards: consent (marketing is never queued for an
 * opted-out contact; the pipeline checks again at delivery), quiet hours in the contact's time
 * zone (deferred to their end), the channel's send rate, then, under a per-contact lock, the
 * frequency cap. The message is keyed by campaign, run and contact, so a retried or duplicated
 * job queues it once. Anything but a queued message leaves the reason on the recipient.
 */
export async function processRecipient(deps: RecipientDeps, recipientId: string, now = new Date()): Promise<RecipientOutcome> {
  const { db } = deps;
  const [row] = await db
    .select({
      recipient: campaignRecipients,
      campaign: campaigns,
      template: { subject: campaignTemplates.subject, body: campaignTemplates.body },
      contact: { name: contacts.name, tier: contacts.tier, language: contacts.language, attributes: contacts.attributes, timezone: contacts.timezone, mergedIntoId: contacts.mergedIntoId },
    })
    .from(campaignRecipients)
    .innerJoin(campaigns, eq(campaigns.id, campaignRecipients.campaignId))
    .innerJoin(campaignTemplates, eq(campaignTemplates.id, campaigns.templateId))
    .innerJoin(contacts, eq(contacts.id, campaignRecipients.contactId))
    .where(eq(campaignRecipients.id, recipientId));
  if (!row) return { result: 'done', status: 'missing' };
  const { recipient, campaign, template, contact } = row;
  if (!(openStatuses as readonly string[]).includes(recipient.status)) return { result: 'done', status: recipient.status };
  if (campaign.status === 'cancelled') return skip(db, recipientId, 'cancelled');
  // Paused (or not yet started): the recipient stays open and resuming enqueues it again.
  if (campaign.status !== 'running') return { result: 'done', status: `campaign ${campaign.status}` };
  if (recipient.dueAt.getTime() > now.getTime()) return { result: 'deferred', dueAt: recipient.dueAt };
  if (contact.mergedIntoId) return skip(db, recipientId, 'merged');

  const settings = settingsOf(campaign);
  const category = campaign.category as MessageCategory;
  if (category === 'marketing') {
    if ((await currentConsent(db, recipient.contactId, campaign.channelId)) === 'opted_out') return skip(db, recipientId, 'opted_out');
    if (settings.quietHours) {
      const end = quietHoursEnd(now, zoneFor(contact.timezone, settings.timeZone), settings.quietHours);
      if (end) {
        await db
          .update(campaignRecipients)
          .set({ status: 'deferred', reason: 'quiet_hours', dueAt: end, updatedAt: sql`now()` })
          .where(and(eq(campaignRecipients.id, recipientId), inArray(campaignRecipients.status, [...openStatuses])));
        return { result: 'deferred', dueAt: end };
      }
    }
  }
  // The channel's next free slot is reserved and the recipient waits for it; coming back with the
  // reservation it goes at once, so a queue of recipients leaves at the rate without a stampede.
  if (recipient.reason !== 'rate_limited') {
    const wait = await deps.takeSendSlot(campaign.channelId, settings.ratePerSecond);
    if (wait > 0) {
      const dueAt = new Date(now.getTime() + wait);
      await db
        .update(campaignRecipients)
        .set({ status: 'pending', reason: 'rate_limited', dueAt, updatedAt: sql`now()` })
        .where(and(eq(campaignRecipients.id, recipientId), inArray(campaignRecipients.status, [...openStatuses])));
      return { result: 'deferred', dueAt };
    }
  }

  const body = renderTemplate(template.body, contact, recipient.variables);
  const subject = template.subject ? renderTemplate(template.subject, contact, recipient.variables).text : undefined;
  return db.transaction(async (tx) => {
    // One contact at a time across campaigns, so two campaigns cannot both pass the cap.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('campaign-contact:' || ${recipient.contactId}))`);
    const [current] = await tx
      .select({ status: campaignRecipients.status })
      .from(campaignRecipients)
      .where(eq(campaignRecipients.id, recipientId))
      .for('update');
    if (!current || !(openStatuses as readonly string[]).includes(current.status)) return { result: 'done', status: current?.status ?? 'missing' } as const;
    if (category === 'marketing' && settings.frequencyCap) {
      const [sent] = await queryRows<{ n: number }>(
        tx,
        sql`select count(*)::int as n from messages where contact_id = ${recipient.contactId} and direction = 'outbound'
          and payload->>'category' = 'marketing' and status not in ('failed') and created_at > now() - make_interval(days => ${settings.frequencyCap.days})`,
      );
      if (sent!.n >= settings.frequencyCap.max) return skip(tx, recipientId, 'frequency_cap');
    }
    let message;
    try {
      // A savepoint: a contact the channel cannot reach leaves no conversation behind.
      message = await tx.transaction(async (inner) => {
        const conversationId = await conversationFor(inner, recipient.contactId, campaign.channelId);
        return queueOutboundMessage(inner, deps.adapters, {
          conversationId,
          channelId: campaign.channelId,
          authorKind: 'system',
          text: body.text,
          payload: { campaignId: campaign.id, ...(subject ? { subject, title: subject } : {}) },
          category,
          idempotencyKey: `campaign:${campaign.id}:${recipient.runKey}:${recipient.contactId}`,
        });
      });
    } catch (error) {
      if (error instanceof HubError && (error.code === 'unreachable' || error.code === 'channel_window_closed' || error.code === 'channel_disabled')) {
        return skip(tx, recipientId, error.code === 'channel_disabled' ? 'channel_disabled' : 'unreachable');
      }
      throw error;
    }
    await tx
      .update(campaignRecipients)
      .set({ status: 'queued', reason: null, messageId: message.id, updatedAt: sql`now()` })
      .where(eq(campaignRecipients.id, recipientId));
    return { result: 'queued', message } as const;
  });
}

async function skip(db: Db, recipientId: string, reason: string): Promise<RecipientOutcome> {
  await db
    .update(campaignRecipients)
    .set({ status: 'skipped', reason, updatedAt: sql`now()` })
    .where(and(eq(campaignRecipients.id, recipientId), inArray(campaignRecipients.status, [...openStatuses])));
  return { result: 'done', status: 'skipped' };
}

/**
 * The conversation a campaign message joins: the contact's latest unresolved one, else a new one
 * `pending` (waiting on the customer), which their answer continues as any reply would.
 */
async function conversationFor(tx: Db, contactId: string, channelId: string): Promise<string> {
  const [open] = await tx
    .select({ id: conversations.id })
    .from(conversations)
    .where(and(eq(conversations.contactId, contactId), ne(conversations.status, 'resolved')))
    .orderBy(desc(conversations.lastMessageAt))
    .limit(1);
  if (open) return open.id;
  const [created] = await tx
    .insert(conversations)
    .values({ contactId, status: 'pending', lastChannelId: channelId, seenChannelIds: [] })
    .returning({ id: conversations.id });
  return created!.id;
}

/** One-off campaigns whose time has come. */
export async function findDueScheduledCampaigns(db: Db) {
  return db
    .select({ id: campaigns.id })
    .from(campaigns)
    .where(and(eq(campaigns.status, 'scheduled'), lte(sql`(${campaigns.settings}->>'scheduledAt')::timestamptz`, sql`now()`)))
    .limit(100);
}

export async function markCampaign(db: Db, id: string, from: CampaignStatus, to: CampaignStatus): Promise<boolean> {
  const rows = await db
    .update(campaigns)
    .set({ status: to, updatedAt: sql`now()` })
    .where(and(eq(campaigns.id, id), eq(campaigns.status, from)))
    .returning({ id: campaigns.id });
  return rows.length > 0;
}

/** Running one-off campaigns whose audience was never (or not wholly) materialised, e.g. after a crash. */
export async function findUnmaterializedCampaigns(db: Db, graceMs: number) {
  return queryRows<{ id: string }>(
    db,
    sql`select id from campaigns where status = 'running' and kind = 'one_off' and started_at is null
      and updated_at < now() - make_interval(secs => ${graceMs / 1000}) limit 100`,
  );
}

/** Open recipients of running campaigns that are due and may have lost their job. */
export async function findDueRecipients(db: Db, graceMs: number, limit = 500) {
  return queryRows<{ id: string; dueAt: Date }>(
    db,
    sql`select r.id, r.due_at as "dueAt" from campaign_recipients r join campaigns c on c.id = r.campaign_id
      where c.status = 'running' and r.status in ('pending', 'deferred') and r.due_at < now() - make_interval(secs => ${graceMs / 1000})
      order by r.due_at limit ${limit}`,
  );
}

/** Marks one-off campaigns completed once every recipient is settled. */
export async function completeFinishedCampaigns(db: Db): Promise<number> {
  const rows = await queryRows<{ id: string }>(
    db,
    sql`update campaigns c set status = 'completed', finished_at = now(), updated_at = now()
      where c.status = 'running' and c.kind = 'one_off' and c.started_at is not null
        and not exists (select 1 from campaign_recipients r where r.campaign_id = c.id and r.status in ('pending', 'deferred'))
      returning c.id`,
  );
  return rows.length;
}
