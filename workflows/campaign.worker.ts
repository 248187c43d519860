import { Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { eq, and } from 'drizzle-orm';
import type { AdapterRegistry } from '../core/channels/contract.js';
import type { Db } from '../core/db/client.js';
import { campaigns } from '../core/db/schema.js';
import { outboundMessageCreated, type DomainEventPublisher } from '../core/events.js';
import {
  completeFinishedCampaigns,
  findDueRecipients,
  findDueScheduledCampaigns,
  findUnmaterializedCampaigns,
  markCampaign,
  materializeRun,
  processRecipient,
} from '../core/campaigns/campaign-send.js';
import { getCampaign, listOpenRecipients, settingsOf, type CampaignRow } from '../core/campaigns/campaigns.js';
import type { Queues } from './queues.js';
import { queueNames } from './queues.js';

export const campaignJobNames = {
  start: 'campaign.start',
  recipient: 'campaign.recipient',
  sweep: 'campaign.sweep',
} as const;

const common = { removeOnComplete: true, removeOnFail: true, attempts: 5, backoff: { type: 'exponential' as const, delay: 500 } };
const schedulerId = (campaignId: string) => `campaign-${campaignId}`;

/** Enqueues recipients' jobs; the id names the due time, so re-adding a waiting job is a no-op. */
export async function enqueueRecipients(queues: Queues, rows: Array<{ id: string; dueAt: Date }>): Promise<void> {
  if (!rows.length) return;
  const now = Date.now();
  await queues.campaigns.addBulk(
    rows.map((r) => {
      const at = new Date(r.dueAt).getTime();
      return { name: campaignJobNames.recipient, data: { recipientId: r.id }, opts: { ...common, jobId: `cr-${r.id}-${at}`, delay: Math.max(0, at - now) } };
    }),
  );
}

/**
 * Puts a started campaign's work in the queue: a one-off's run (delayed to its time), a recurring
 * one's job scheduler (cron in its time zone); a triggered one waits for triggers.
 */
export async function scheduleCampaign(queues: Queues, campaign: CampaignRow): Promise<void> {
  const settings = settingsOf(campaign);
  if (campaign.kind === 'one_off' && (campaign.status === 'running' || campaign.status === 'scheduled')) {
    const at = settings.scheduledAt ? new Date(settings.scheduledAt).getTime() : 0;
    await queues.campaigns.add(
      campaignJobNames.start,
      { campaignId: campaign.id },
      { ...common, jobId: `start-${campaign.id}-${at}`, delay: Math.max(0, at - Date.now()) },
    );
  } else if (campaign.kind === 'recurring' && campaign.status === 'running') {
    await queues.campaigns.upsertJobScheduler(
      schedulerId(campaign.id),
      { pattern: settings.cron!, tz: settings.timeZone },
      { name: campaignJobNames.start, data: { campaignId: campaign.id }, opts: { removeOnComplete: true, removeOnFail: true } },
    );
  }
}

/** After pause or cancel: no more runs of a recurring campaign start. */
export async function unscheduleCampaign(queues: Queues, campaign: CampaignRow): Promise<void> {
  if (campaign.kind === 'recurring') await queues.campaigns.removeJobScheduler(schedulerId(campaign.id));
}

/** After resume: the schedule again, and every recipient still open. */
export async function resumeCampaignJobs(db: Db, queues: Queues, campaign: CampaignRow): Promise<void> {
  await scheduleCampaign(queues, campaign);
  if (campaign.status === 'running') await enqueueRecipients(queues, await listOpenRecipients(db, campaign.id));
}

// Reserves the channel's next send slot (a GCRA on Redis's clock, shared by every process and
// campaign): answers how many milliseconds until the reserved slot.
const reserveSlotScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nextFree = tonumber(redis.call('GET', KEYS[1]) or '0')
local at = math.max(now, nextFree)
local interval = tonumber(ARGV[1])
redis.call('SET', KEYS[1], at + interval, 'PX', at + interval - now + 60000)
return at - now`;

export function createSendSlots(redis: Redis, prefix: string) {
  return async (channelId: string, ratePerSecond: number): Promise<number> => {
    const interval = Math.max(1, Math.round(1000 / ratePerSecond));
    return Number(await redis.eval(reserveSlotScript, 1, `${prefix}:campaign-rate:${channelId}`, interval));
  };
}

export interface CampaignWorkerDeps {
  db: Db;
  adapters: AdapterRegistry;
  queues: Queues;
  redis: Redis;
  connection: ConnectionOptions;
  prefix: string;
  events: DomainEventPublisher;
  logger: Logger;
  concurrency: number;
  lockMs: number;
  sweepGraceMs: number;
}

/** The campaigns worker: thin over core/campaigns (materialise a run, send a recipient, sweep). */
export function startCampaignWorker(deps: CampaignWorkerDeps) {
  const { db, queues, logger } = deps;
  const takeSendSlot = createSendSlots(deps.redis, deps.prefix);

  async function startRun(campaignId: string, runKey: string) {
    const campaign = await getCampaign(db, campaignId);
    if (campaign.status === 'scheduled') await markCampaign(db, campaignId, 'scheduled', 'running');
    const outcome = await materializeRun(db, campaignId, runKey, (rows) => enqueueRecipients(queues, rows));
    logger.info({ campaignId, runKey, ...outcome }, 'campaign run materialised');
  }

  const worker = new Worker(
    queueNames.campaigns,
    async (job: Job) => {
      switch (job.name) {
        case campaignJobNames.start: {
          const { campaignId } = job.data as { campaignId: string };
          // A scheduler's job id names its run (repeat:<scheduler>:<time>): each run is materialised once.
          await startRun(campaignId, job.id?.startsWith('repeat:') ? job.id : 'once');
          return;
        }
        case campaignJobNames.recipient: {
          const { recipientId } = job.data as { recipientId: string };
          const outcome = await processRecipient({ db, adapters: deps.adapters, takeSendSlot }, recipientId);
          if (outcome.result === 'queued') await deps.events.publish([outboundMessageCreated({ ...outcome.message, authorKind: 'system' })]);
          else if (outcome.result === 'deferred') await enqueueRecipients(queues, [{ id: recipientId, dueAt: outcome.dueAt }]);
          return;
        }
        case campaignJobNames.sweep:
          await sweep();
          return;
      }
    },
    { connection: deps.connection, prefix: deps.prefix, concurrency: deps.concurrency, lockDuration: deps.lockMs, stalledInterval: deps.lockMs },
  );
  worker.on('failed', (job, error) => logger.warn({ queue: worker.name, jobId: job?.id, error: error.message }, 'job failed'));
  worker.on('error', (error) => logger.error({ queue: worker.name, error: error.message }, 'worker error'));

  /** Rebuilds from the database whatever Redis lost: due schedules, unfinished runs, recipients' jobs. */
  async function sweep() {
    for (const { id } of await findDueScheduledCampaigns(db)) {
      if (await markCampaign(db, id, 'scheduled', 'running')) await scheduleCampaign(queues, await getCampaign(db, id));
    }
    for (const { id } of await findUnmaterializedCampaigns(db, deps.sweepGraceMs)) await scheduleCampaign(queues, await getCampaign(db, id));
    for (const campaign of await db.select().from(campaigns).where(and(eq(campaigns.kind, 'recurring'), eq(campaigns.status, 'running')))) {
      await scheduleCampaign(queues, campaign);
    }
    const due = await findDueRecipients(db, deps.sweepGraceMs);
    if (due.length) await enqueueRecipients(queues, due);
    await completeFinishedCampaigns(db);
  }

  return worker;
}
