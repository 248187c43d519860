import { randomBytes } from 'node:crypto';
import type { OutboundMessage, ReachFacts, ReachVerdict, SendResult, SendTools } from '../../core/channels/contract.js';
import { OutboundHttpError } from '../../core/security/outbound-http.js';
import { callWithToken, postJson, readJson, WechatApiError, type WechatChannel, type WechatJsonAnswer } from './wechat-api.js';

/** WeChat accepts customer-service messages only this long after the customer's last interaction. */
export const SERVICE_WINDOW_MS = 48 * 3_600_000;
const PAUSE_KEY = 'sends-paused-until';

// -1 is "system busy". Any other errcode fails again the same way, notably 45015 (outside the
// 48-hour window) and 45047 (the reply quota for this customer is spent).
const retryableCodes = new Set([-1]);
const DAILY_QUOTA_REACHED = 45009;

export function canReachWechat(facts: ReachFacts): ReachVerdict {
  // Template messages are how an account reaches a customer outside the window.
  if (facts.contentKind === 'template') return { ok: true };
  if (facts.lastInboundAt && facts.now.getTime() - facts.lastInboundAt.getTime() < SERVICE_WINDOW_MS) return { ok: true };
  return {
    ok: false,
    reason:
      'the WeChat 48-hour customer-service window is closed: the customer has not written or tapped anything on this account for 48 hours. ' +
      'Send a configured template message (POST /api/v1/conversations/{id}/template-messages) or reply on another channel.',
  };
}

/** The next midnight in China (UTC+8, no daylight saving), when WeChat resets daily API quotas. */
function nextQuotaReset(now: Date): Date {
  const beijing = new Date(now.getTime() + 8 * 3_600_000);
  return new Date(Date.UTC(beijing.getUTCFullYear(), beijing.getUTCMonth(), beijing.getUTCDate() + 1) - 8 * 3_600_000);
}

type Request = { path: string; body: Record<string, unknown> } | { error: SendResult };

// WeChat keeps uploaded media three days; reuse an upload a little less long than that.
const MEDIA_REUSE_MS = 2.5 * 24 * 3_600_000;

/** Uploads the image a message carries (once per attachment while WeChat keeps it) and returns its media_id. */
async function uploadImage(channel: WechatChannel, tools: SendTools, attachmentId: string): Promise<string | SendResult> {
  const cacheKey = `media:${attachmentId}`;
  const cached = await channel.store.get(cacheKey);
  if (cached) return cached;
  let file: Awaited<ReturnType<SendTools['readAttachment']>>;
  try {
    file = await tools.readAttachment(attachmentId);
  } catch (error) {
    return { outcome: 'permanent', code: 'attachment_missing', message: (error as Error).message };
  }
  const boundary = `----hub${randomBytes(12).toString('hex')}`;
  const fileName = (file.fileName ?? `${attachmentId}.${file.contentType.split('/')[1] ?? 'jpg'}`).replace(/["\r\n]/g, '_');
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="media"; filename="${fileName}"\r\nContent-Type: ${file.contentType}\r\n\r\n`),
    file.data,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const answer = readJson(
    await callWithToken(channel, {
      path: 'cgi-bin/media/upload',
      query: { type: 'image' },
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      body,
    }),
  );
  const mediaId = answer.body.media_id;
  if (answer.status !== 200 || answer.errcode !== 0 || typeof mediaId !== 'string') return mapAnswer(answer, channel);
  await channel.store.set(cacheKey, mediaId, MEDIA_REUSE_MS);
  return mediaId;
}

async function buildRequest(message: OutboundMessage, channel: WechatChannel, tools: SendTools): Promise<Request> {
  const touser = message.recipient.value;
  if (message.recipient.kind !== 'wechat_openid') {
    return { error: { outcome: 'permanent', code: 'unreachable', message: `WeChat delivers to an openid, not to a ${message.recipient.kind}` } };
  }
  if (message.contentKind === 'template') {
    const requested = message.payload.template as { name?: string; variables?: Record<string, string>; url?: string } | undefined;
    const template = requested?.name ? channel.config.templates[requested.name] : undefined;
    if (!requested?.name || !template) {
      return { error: { outcome: 'permanent', code: 'unknown_template', message: `this channel has no template named ${requested?.name ?? '(none)'}` } };
    }
    const variables = requested.variables ?? {};
    const missing = template.variables.filter((name) => !(name in variables));
    if (missing.length) {
      return { error: { outcome: 'permanent', code: 'template_variables', message: `template ${requested.name} needs ${missing.join(', ')}` } };
    }
    const url = requested.url ?? template.url;
    return {
      path: 'cgi-bin/message/template/send',
      body: {
        touser,
        template_id: template.templateId,
        ...(url ? { url } : {}),
        data: Object.fromEntries(template.variables.map((name) => [name, { value: variables[name] }])),
        client_msg_id: message.id,
      },
    };
  }
  const link = message.payload.link as { title?: string; description?: string; url?: string; pictureUrl?: string } | undefined;
  if (message.contentKind === 'link' && link?.url) {
    const article = { title: link.title ?? message.text ?? link.url, description: link.description ?? '', url: link.url, picurl: link.pictureUrl ?? '' };
    return { path: 'cgi-bin/message/custom/send', body: { touser, msgtype: 'news', news: { articles: [article] } } };
  }
  const image = (message.payload.attachments as Array<{ id?: string }> | undefined)?.[0]?.id;
  if (message.contentKind === 'image' && image) {
    const uploaded = await uploadImage(channel, tools, image);
    if (typeof uploaded !== 'string') return { error: uploaded };
    return { path: 'cgi-bin/message/custom/send', body: { touser, msgtype: 'image', image: { media_id: uploaded } } };
  }
  if (message.text) return { path: 'cgi-bin/message/custom/send', body: { touser, msgtype: 'text', text: { content: message.text } } };
  return { error: { outcome: 'permanent', code: 'unsupported_content', message: `WeChat sending of ${message.contentKind} messages is not supported` } };
}

async function mapAnswer(answer: WechatJsonAnswer, channel: WechatChannel): Promise<SendResult> {
  if (answer.status >= 500) return { outcome: 'retryable', code: `HTTP_${answer.status}`, message: `WeChat answered HTTP ${answer.status}` };
  if (answer.status !== 200) return { outcome: 'permanent', code: `HTTP_${answer.status}`, message: `WeChat answered HTTP ${answer.status}` };
  const { errcode, errmsg } = answer;
  if (errcode === 0) {
    const msgid = answer.body.msgid;
    return { outcome: 'sent', ...(msgid !== undefined ? { providerMessageId: String(msgid) } : {}) };
  }
  const message = `WeChat error ${errcode}: ${errmsg}`;
  if (errcode === DAILY_QUOTA_REACHED) {
    const until = nextQuotaReset(new Date());
    await channel.store.set(PAUSE_KEY, until.toISOString(), until.getTime() - Date.now());
    channel.logger?.error({ errcode, errmsg, pausedUntil: until.toISOString() }, 'WeChat daily API quota reached: sends on this channel are paused until the quota resets');
    return { outcome: 'retryable', code: String(errcode), message, retryAfterMs: until.getTime() - Date.now() };
  }
  if (retryableCodes.has(errcode)) return { outcome: 'retryable', code: String(errcode), message };
  return { outcome: 'permanent', code: String(errcode), message };
}

export async function sendWechatMessage(message: OutboundMessage, channel: WechatChannel, tools: SendTools): Promise<SendResult> {
  const pausedUntil = await channel.store.get(PAUSE_KEY);
  const waitMs = pausedUntil ? Date.parse(pausedUntil) - Date.now() : 0;
  if (waitMs > 0) {
    return { outcome: 'retryable', code: String(DAILY_QUOTA_REACHED), message: `sends on this channel are paused until ${pausedUntil} (daily API quota)`, retryAfterMs: waitMs };
  }
  try {
    const request = await buildRequest(message, channel, tools);
    if ('error' in request) return request.error;
    return await mapAnswer(await postJson(channel, request.path, request.body), channel);
  } catch (error) {
    if (error instanceof WechatApiError) {
      // The token could not be had: bad AppID/AppSecret or an IP not on the account's allow list.
      return error.errcode === -1
        ? { outcome: 'retryable', code: 'token_unavailable', message: error.message }
        : { outcome: 'permanent', code: String(error.errcode), message: `could not get an access_token: ${error.message}` };
    }
    if (error instanceof OutboundHttpError) {
      if (error.kind === 'blocked') return { outcome: 'permanent', code: 'api_blocked', message: error.message };
      if (error.kind === 'unreachable') return { outcome: 'retryable', code: 'api_unreachable', message: error.message };
      // Customer-service sends carry no idempotency key: a request that may have arrived is not repeated.
      return { outcome: 'unknown', message: error.message };
    }
    // Anything else (a token lock held too long, Redis down) stopped the send before the request left.
    return { outcome: 'retryable', code: 'not_sent', message: (error as Error).message };
  }
}
