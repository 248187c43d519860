import { audienceInput, audiencePreviewInput, createAudience, getAudience, listAudiences, previewAudience, updateAudience } from '../../core/campaigns/audiences.js';
import { createTemplate, getTemplate, listTemplates, previewTemplate, templateInput, templatePreviewInput, updateTemplate } from '../../core/campaigns/campaign-templates.js';
import {
  campaignInput,
  campaignListQuery,
  cancelCampaign,
  createCampaign,
  getCampaign,
  listCampaigns,
  listRecipients,
  pauseCampaign,
  readCampaignResults,
  recipientListQuery,
  resumeCampaign,
  startCampaign,
  triggerCampaign,
  triggerInput,
} from '../../core/campaigns/campaigns.js';
import { asc } from 'drizzle-orm';
import { channels, type UserRole } from '../../core/db/schema.js';
import { enqueueRecipients, resumeCampaignJobs, scheduleCampaign, unscheduleCampaign } from '../../workflows/campaign.worker.js';
import { enqueueOrLeaveToSweeper } from '../enqueue.js';
import { defineRoute, type ApiRoute } from './route.js';

/** Marketers build and run campaigns; they see totals and reasons, never conversations' contents. */
const campaignRoles: readonly UserRole[] = ['admin', 'marketer'];
const tag = 'campaigns';
/** Audiences, templates and campaigns are marketing's own objects: the roles decide, as for every one of them. */
const noCustomerObject = { none: "marketing's own object (audience, template or campaign); its roles decide" };

const audienceRoutes: ApiRoute[] = [
  defineRoute({
    method: 'get',
    path: '/audiences',
    summary: 'List saved audiences',
    tag,
    roles: campaignRoles,
    responds: { status: 200, description: '{ items: Audience[] }' },
    handle: ({ runtime }) => listAudiences(runtime.database.db),
  }),
  defineRoute({
    method: 'post',
    path: '/audiences/preview',
    summary:
      'Count the contacts a filter matches now and show the first ten (the builder\'s live count). The filter language is described in docs/campaigns.md: and/or/not over { field, op, value } with fields tier, tags, language, timezone, identity, last_contact, consent and attribute (with key).',
    tag,
    roles: campaignRoles,
    body: audiencePreviewInput,
    responds: { status: 200, description: '{ count, sample: [{ id, name, tier, language, timezone, tags, attributes }] }' },
    handle: ({ runtime, body }) => previewAudience(runtime.database.db, body),
  }),
  defineRoute({
    method: 'post',
    path: '/audiences',
    summary: 'Save an audience (a name and a filter)',
    tag,
    roles: campaignRoles,
    body: audienceInput,
    responds: { status: 201, description: 'the Audience' },
    handle: ({ runtime, user, body }) => createAudience(runtime.database.db, user.id, body),
  }),
  defineRoute({
    method: 'get',
    path: '/audiences/:id',
    access: noCustomerObject,
    summary: 'Get an audience',
    tag,
    roles: campaignRoles,
    responds: { status: 200, description: 'the Audience' },
    handle: ({ runtime, params }) => getAudience(runtime.database.db, params.id!),
  }),
  defineRoute({
    method: 'put',
    path: '/audiences/:id',
    access: noCustomerObject,
    summary: "Replace an audience's name and filter (runs already materialised keep their recipients)",
    tag,
    roles: campaignRoles,
    body: audienceInput,
    responds: { status: 200, description: 'the Audience' },
    handle: ({ runtime, params, body }) => updateAudience(runtime.database.db, params.id!, body),
  }),
];

const templateRoutes: ApiRoute[] = [
  defineRoute({
    method: 'get',
    path: '/campaign-templates',
    summary: 'List campaign message templates',
    tag,
    roles: campaignRoles,
    responds: { status: 200, description: '{ items: Template[] }' },
    handle: ({ runtime }) => listTemplates(runtime.database.db),
  }),
  defineRoute({
    method: 'post',
    path: '/campaign-templates/preview',
    summary:
      'Render a draft for a contact (or with no contact, showing defaults): {{name}}, {{tier}}, {{language}}, any attribute as {{key}} or {{attributes.key}}, event variables, and {{key|default}}; names missing values and, for SMS, the segments',
    tag,
    roles: campaignRoles,
    body: templatePreviewInput,
    responds: { status: 200, description: '{ subject, body, missing: string[], variables: string[], sms?: SmsSegmentCount }' },
    handle: ({ runtime, body }) => previewTemplate(runtime.database.db, body),
  }),
  defineRoute({
    method: 'post',
    path: '/campaign-templates',
    summary: 'Create a template for one channel type (subject is the email subject or push title)',
    tag,
    roles: campaignRoles,
    body: templateInput,
    responds: { status: 201, description: 'the Template' },
    handle: ({ runtime, user, body }) => createTemplate(runtime.database.db, user.id, body),
  }),
  defineRoute({
    method: 'get',
    path: '/campaign-templates/:id',
    access: noCustomerObject,
    summary: 'Get a template',
    tag,
    roles: campaignRoles,
    responds: { status: 200, description: 'the Template' },
    handle: ({ runtime, params }) => getTemplate(runtime.database.db, params.id!),
  }),
  defineRoute({
    method: 'put',
    path: '/campaign-templates/:id',
    access: noCustomerObject,
    summary: 'Replace a template (messages not yet queued use the new text)',
    tag,
    roles: campaignRoles,
    body: templateInput,
    responds: { status: 200, description: 'the Template' },
    handle: ({ runtime, params, body }) => updateTemplate(runtime.database.db, params.id!, body),
  }),
];

const campaignRoutes: ApiRoute[] = [
  defineRoute({
    method: 'get',
    path: '/campaign-channels',
    summary: 'The channels a campaign may send on: id, name, type and whether enabled (no configuration), for marketers who cannot read channels',
    tag,
    roles: campaignRoles,
    responds: { status: 200, description: '{ items: [{ id, name, type, enabled }] }' },
    handle: async ({ runtime }) => ({
      items: await runtime.database.db
        .select({ id: channels.id, name: channels.name, type: channels.type, enabled: channels.enabled })
        .from(channels)
        .orderBy(asc(channels.name)),
    }),
  }),
  defineRoute({
    method: 'get',
    path: '/campaigns',
    summary: 'List campaigns, newest first, each with its totals by outcome',
    tag,
    roles: campaignRoles,
    query: campaignListQuery,
    responds: {
      status: 200,
      description: '{ items: [Campaign & { totals: { recipients, pending, deferred, queued, sent, delivered, read, failed, unknown, skipped } }] }',
    },
    handle: ({ runtime, query }) => listCampaigns(runtime.database.db, query),
  }),
  defineRoute({
    method: 'post',
    path: '/campaigns',
    summary:
      'Create a campaign as a draft: kind one_off (settings.scheduledAt, or at start), recurring (settings.cron in settings.timeZone) or triggered (by POST /campaigns/:id/trigger); settings.quietHours, settings.frequencyCap { max, days } and settings.ratePerSecond guard it',
    tag,
    roles: campaignRoles,
    body: campaignInput,
    responds: { status: 201, description: 'the Campaign' },
    handle: ({ runtime, user, body }) => createCampaign(runtime.database.db, user.id, body),
  }),
  defineRoute({
    method: 'get',
    path: '/campaigns/:id',
    access: noCustomerObject,
    summary: 'Get a campaign',
    tag,
    roles: campaignRoles,
    responds: { status: 200, description: 'the Campaign' },
    handle: ({ runtime, params }) => getCampaign(runtime.database.db, params.id!),
  }),
  defineRoute({
    method: 'get',
    path: '/campaigns/:id/results',
    access: noCustomerObject,
    summary: "A campaign's results: totals by outcome, skips and deferrals by reason, failures by the provider's code, and sends per minute",
    tag,
    roles: campaignRoles,
    responds: {
      status: 200,
      description: '{ campaign: { id, name, status }, totals, skipped: [{ reason, n }], failures: [{ code, n }], timeline: [{ at, sent, failed }] }',
    },
    handle: ({ runtime, params }) => readCampaignResults(runtime.database.db, params.id!),
  }),
  defineRoute({
    method: 'get',
    path: '/campaigns/:id/recipients',
    access: noCustomerObject,
    summary: "A campaign's recipients with their outcome and reason or error code (no message text), latest first",
    tag,
    roles: campaignRoles,
    query: recipientListQuery,
    responds: { status: 200, description: '{ items: [{ id, contactId, contactName, runKey, outcome, reason, errorCode, dueAt, updatedAt }] }' },
    handle: ({ runtime, params, query }) => listRecipients(runtime.database.db, params.id!, query),
  }),
  defineRoute({
    method: 'post',
    path: '/campaigns/:id/start',
    access: noCustomerObject,
    summary: 'Start a draft: a one-off sends now or waits for its time (scheduled), a recurring one starts its schedule, a triggered one accepts triggers',
    tag,
    roles: campaignRoles,
    responds: { status: 200, description: 'the Campaign' },
    fails: { 409: 'the campaign is not a draft (campaign_state)' },
    handle: async ({ runtime, params }) => {
      const campaign = await startCampaign(runtime.database.db, params.id!);
      // The sweeper starts what a lost enqueue left: the database already says running or scheduled.
      await enqueueOrLeaveToSweeper(runtime, () => scheduleCampaign(runtime.queues, campaign));
      return campaign;
    },
  }),
  defineRoute({
    method: 'post',
    path: '/campaigns/:id/pause',
    access: noCustomerObject,
    summary: 'Pause a campaign: nothing more is handed to the channel until it resumes (messages already queued still go)',
    tag,
    roles: campaignRoles,
    responds: { status: 200, description: 'the Campaign' },
    handle: async ({ runtime, params }) => {
      const campaign = await pauseCampaign(runtime.database.db, params.id!);
      await unscheduleCampaign(runtime.queues, campaign);
      return campaign;
    },
  }),
  defineRoute({
    method: 'post',
    path: '/campaigns/:id/resume',
    access: noCustomerObject,
    summary: 'Resume a paused campaign',
    tag,
    roles: campaignRoles,
    responds: { status: 200, description: 'the Campaign' },
    handle: async ({ runtime, params }) => {
      const campaign = await resumeCampaign(runtime.database.db, params.id!);
      await enqueueOrLeaveToSweeper(runtime, () => resumeCampaignJobs(runtime.database.db, runtime.queues, campaign));
      return campaign;
    },
  }),
  defineRoute({
    method: 'post',
    path: '/campaigns/:id/cancel',
    access: noCustomerObject,
    summary: 'Cancel a campaign: recipients not yet handed to the channel are skipped (reason cancelled)',
    tag,
    roles: campaignRoles,
    responds: { status: 200, description: 'the Campaign' },
    handle: async ({ runtime, params }) => {
      const campaign = await cancelCampaign(runtime.database.db, params.id!);
      await unscheduleCampaign(runtime.queues, campaign);
      return campaign;
    },
  }),
  defineRoute({
    method: 'post',
    path: '/campaigns/:id/trigger',
    access: noCustomerObject,
    summary:
      "A bank system's event (a card expiring, an unusual payment) for one contact of a running triggered campaign: the contact is named by one identity or the bank's customer number, variables fill the template, and an idempotencyKey makes a repeated post send nothing more",
    tag,
    roles: campaignRoles,
    body: triggerInput,
    responds: { status: 202, description: '{ recipientId, created }' },
    fails: { 404: 'no contact has that identity (contact_not_found)', 409: 'the campaign is not a running triggered campaign' },
    handle: async ({ runtime, params, body }) => {
      const { recipient, created } = await triggerCampaign(runtime.database.db, params.id!, body);
      if (created) await enqueueOrLeaveToSweeper(runtime, () => enqueueRecipients(runtime.queues, [recipient]));
      return { recipientId: recipient.id, created };
    },
  }),
];

export const campaignApiRoutes: ApiRoute[] = [...audienceRoutes, ...templateRoutes, ...campaignRoutes];
