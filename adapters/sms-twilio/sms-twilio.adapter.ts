import twilio from 'twilio';
import type {
  AttachmentRef,
  ChannelAdapter,
  ChannelContext,
  DeliveryStatus,
  HttpReply,
  MessageAction,
  NormalizedEvent,
  NormalizeTools,
  SendResult,
} from '../../core/channels/contract.js';
import { PermanentEventError } from '../../core/channels/contract.js';
import { contentKindOf } from '../../core/attachments/attachment-store.js';
import { matchConsentKeyword } from '../../core/consents/consent-keywords.js';
import { ChannelRequestClient, classifySendError } from './sms-twilio.client.js';
import { smsTwilioConfig, smsTwilioSecretFields, type SmsTwilioConfig } from './sms-twilio.config.js';
import { fetchTwilioMedia, MediaRefusedError } from './sms-twilio.media.js';

export const TWILIO_SIGNATURE_HEADER = 'x-twilio-signature';
export const STATUS_SUBPATH = '/status';
/** Twilio sends at most 10 media with one message. */
const MAX_MEDIA = 10;

/** Twilio takes an empty TwiML document as "received, nothing to answer". */
const twiml: HttpReply = { status: 200, contentType: 'text/xml', body: '<?xml version="1.0" encoding="UTF-8"?><Response/>' };
const plain = (status: number, body: string): HttpReply => ({ status, contentType: 'text/plain', body });

type TwilioParams = Record<string, string>;
/** What is stored per accepted request: which webhook it came by and Twilio's form fields as sent. */
interface StoredTwilioEvent {
  kind: 'message' | 'status';
  params: TwilioParams;
}

/** Twilio's message statuses that move a message forward; the others (queued, sending, …) say nothing new. */
const deliveryStatuses = new Map<string, DeliveryStatus>([
  ['sent', 'sent'],
  ['delivered', 'delivered'],
  ['read', 'read'],
  ['undelivered', 'failed'],
  ['failed', 'failed'],
  ['canceled', 'failed'],
]);

export function statusCallbackUrl(channel: ChannelContext<SmsTwilioConfig>): string | undefined {
  return channel.publicBaseUrl ? `${channel.publicBaseUrl.replace(/\/+$/, '')}/webhooks/sms_twilio/${channel.id}${STATUS_SUBPATH}` : undefined;
}

/**
 * SMS and MMS through Twilio. Inbound messages and delivery receipts come as signed form posts
 * to the channel's webhook (`/status` for receipts); outbound messages go through the SDK's
 * `messages.create`. Keyword messages (STOP, START, HELP, 退订) change consent or get the help text.
 */
export const smsTwilioAdapter: ChannelAdapter<SmsTwilioConfig> = {
  type: 'sms_twilio',
  displayName: 'SMS (Twilio)',
  configSchema: smsTwilioConfig,
  secretFields: smsTwilioSecretFields,
  reachableKinds: ['phone'],
  outboundTargets: (config) => [{ field: 'apiBaseUrl', target: config.apiBaseUrl }],

  async verifyInbound(request, channel) {
    if (request.method !== 'POST') return { ok: false, reply: plain(405, 'use POST') };
    if (request.subpath !== '' && request.subpath !== STATUS_SUBPATH) return { ok: false, reply: plain(404, `no webhook at ${request.subpath}`) };
    const params: TwilioParams = Object.fromEntries(new URLSearchParams(request.rawBody.toString('utf8')));
    const signature = request.headers[TWILIO_SIGNATURE_HEADER];
    // Twilio signs the URL it called, query string included, plus the sorted form fields.
    if (!signature || !twilio.validateRequest(channel.config.authToken, signature, request.publicUrl, params)) {
      return { ok: false, reply: plain(403, `${TWILIO_SIGNATURE_HEADER} does not match this request; check the channel's authToken and publicBaseUrl`) };
    }
    const sid = params.MessageSid ?? params.SmsSid;
    if (!sid) return { ok: false, reply: plain(400, 'MessageSid is missing') };
    if (request.subpath === STATUS_SUBPATH) {
      const status = params.MessageStatus ?? params.SmsStatus;
      if (!status) return { ok: false, reply: plain(400, 'MessageStatus is missing') };
      // One receipt per status: a repeated "delivered" is stored once, "sent" and "delivered" both are.
      return { ok: true, events: [{ dedupeKey: `${sid}:${status}`, payload: { kind: 'status', params } satisfies StoredTwilioEvent }], reply: twiml };
    }
    return { ok: true, events: [{ dedupeKey: sid, payload: { kind: 'message', params } satisfies StoredTwilioEvent }], reply: twiml };
  },

  async normalize(payload, channel, tools) {
    const event = payload as StoredTwilioEvent;
    return event.kind === 'status' ? normalizeStatus(event.params) : normalizeMessage(event.params, channel, tools);
  },

  async send(message, channel): Promise<SendResult> {
    if (message.recipient.kind !== 'phone') {
      return { outcome: 'permanent', code: 'unreachable', message: `SMS reaches phone numbers, not ${message.recipient.kind}` };
    }
    if (!message.text) return { outcome: 'permanent', code: 'no_text', message: 'an SMS needs text' };
    const { client, http } = createTwilioClient(channel);
    const callback = statusCallbackUrl(channel);
    try {
      const created = await client.messages.create({
        to: message.recipient.value,
        body: message.text,
        ...(channel.config.messagingServiceSid ? { messagingServiceSid: channel.config.messagingServiceSid } : { from: channel.config.from! }),
        ...(callback ? { statusCallback: callback } : {}),
      });
      return { outcome: 'sent', providerMessageId: created.sid };
    } catch (error) {
      return classifySendError(error, http);
    }
  },

  async testConnection(channel) {
    try {
      const account = await createTwilioClient(channel).client.api.v2010.accounts(channel.config.accountSid).fetch();
      return { ok: account.status === 'active', message: `Twilio account ${account.friendlyName} is ${account.status}` };
    } catch (error) {
      const reason = error instanceof twilio.RestException ? `Twilio answered ${error.status}: ${error.message}` : (error as Error).message;
      return { ok: false, message: reason };
    }
  },
};

function createTwilioClient(channel: ChannelContext<SmsTwilioConfig>) {
  const http = new ChannelRequestClient(channel);
  return { http, client: twilio(channel.config.accountSid, channel.config.authToken, { httpClient: http }) };
}

function normalizeStatus(params: TwilioParams): NormalizedEvent {
  const sid = (params.MessageSid ?? params.SmsSid)!;
  const twilioStatus = params.MessageStatus ?? params.SmsStatus ?? '';
  const status = deliveryStatuses.get(twilioStatus);
  if (!status) return { type: 'ignored', reason: `Twilio status ${twilioStatus} does not move a message forward` };
  if (status !== 'failed') return { type: 'status', providerMessageId: sid, status };
  return {
    type: 'status',
    providerMessageId: sid,
    status,
    errorCode: params.ErrorCode || `twilio_${twilioStatus}`,
    errorMessage: `Twilio reported the message ${twilioStatus}${params.ErrorCode ? ` with error ${params.ErrorCode}` : ''}`,
  };
}

async function normalizeMessage(params: TwilioParams, channel: ChannelContext<SmsTwilioConfig>, tools: NormalizeTools): Promise<NormalizedEvent> {
  if (!params.From) throw new PermanentEventError('the message has no From number');
  const text = params.Body?.trim() ? params.Body : undefined;
  const attachments: AttachmentRef[] = [];
  const refusedMedia: Array<{ url: string; reason: string }> = [];
  const count = Math.min(Number(params.NumMedia) || 0, MAX_MEDIA);
  for (let i = 0; i < count; i++) {
    const url = params[`MediaUrl${i}`];
    if (!url) continue;
    try {
      const media = await fetchTwilioMedia(url, channel);
      const contentType = media.contentType ?? params[`MediaContentType${i}`] ?? 'application/octet-stream';
      attachments.push(await tools.storeAttachment({ data: media.data, contentType }));
    } catch (error) {
      // The customer's words still reach an agent; the refused file is named, not fetched.
      if (!(error instanceof MediaRefusedError)) throw error;
      refusedMedia.push({ url, reason: error.message });
    }
  }
  const payload = {
    ...(attachments.length ? { attachments } : {}),
    ...(refusedMedia.length ? { refusedMedia } : {}),
  };
  return {
    type: 'message',
    sender: { kind: 'phone', value: params.From, verified: true },
    content: {
      kind: text ? 'text' : attachments.length === 1 ? contentKindOf(attachments[0]!.contentType) : 'file',
      ...(text ? { text } : {}),
      ...(Object.keys(payload).length ? { payload } : {}),
    },
    providerMessageId: params.MessageSid ?? params.SmsSid,
    actions: keywordActions(text, channel.config.helpText),
  };
}

function keywordActions(text: string | undefined, helpText: string | undefined): MessageAction[] {
  const match = matchConsentKeyword(text);
  if (!match) return [];
  const source = `sms:${match.keyword}`;
  switch (match.intent) {
    case 'opt_out':
      return [{ type: 'consent', status: 'opted_out', source }];
    case 'opt_in':
      return [{ type: 'consent', status: 'opted_in', source }];
    case 'help':
      return helpText ? [{ type: 'auto_reply', text: helpText }] : [];
  }
}
