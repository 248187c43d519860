import twilio from 'twilio';
import type { ChannelContext, SendResult } from '../../core/channels/contract.js';
import { OutboundHttpError, sendOutboundHttp } from '../../core/security/outbound-http.js';
import type { SmsTwilioConfig } from './sms-twilio.config.js';

type RequestOptions = Parameters<InstanceType<typeof twilio.RequestClient>['request']>[0];
type RequestResult = Awaited<ReturnType<InstanceType<typeof twilio.RequestClient>['request']>>;

/** Twilio's "recipient has opted out" (the carrier or Twilio's own STOP handling). */
export const TWILIO_OPTED_OUT = 21610;
/** Twilio's "too many requests". */
export const TWILIO_TOO_MANY_REQUESTS = 20429;

export function basicAuth(config: SmsTwilioConfig): string {
  return `Basic ${Buffer.from(`${config.accountSid}:${config.authToken}`).toString('base64')}`;
}

/** The same path and query on the channel's `apiBaseUrl`, which may be a proxy or a test's fake. */
export function onApiBase(config: SmsTwilioConfig, url: URL): URL {
  return new URL(`${config.apiBaseUrl.replace(/\/+$/, '')}${url.pathname}${url.search}`);
}

/** Seconds or an HTTP date, as RFC 9110 allows; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (!raw) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * The SDK's HTTP layer for one channel and one send. Requests go to the channel's `apiBaseUrl`
 * through the hub's guarded HTTP client (private addresses refused unless allowed, the hub's send
 * timeout, and a failure that tells "never reached Twilio" from "no answer"). One instance per
 * send, because the SDK's error drops the headers: the Retry-After of a 429 is kept here.
 */
export class ChannelRequestClient extends twilio.RequestClient {
  retryAfterMs: number | undefined;

  constructor(private readonly channel: ChannelContext<SmsTwilioConfig>) {
    super({ timeout: channel.sendTimeoutMs, keepAlive: false });
  }

  override async request<TData>(opts: RequestOptions): Promise<RequestResult & { body: TData }> {
    const url = onApiBase(this.channel.config, new URL(opts.uri));
    for (const [key, value] of Object.entries((opts.params ?? {}) as Record<string, unknown>)) appendParam(url.searchParams, key, value);
    const form = new URLSearchParams();
    for (const [key, value] of Object.entries((opts.data ?? {}) as Record<string, unknown>)) appendParam(form, key, value);
    const headers = Object.fromEntries(
      Object.entries(opts.headers ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string' && e[0].toLowerCase() !== 'connection'),
    );
    const response = await sendOutboundHttp({
      url: url.href,
      method: opts.method.toUpperCase(),
      headers: { ...headers, authorization: basicAuth(this.channel.config) },
      ...(opts.data ? { body: form.toString() } : {}),
      timeoutMs: this.channel.sendTimeoutMs,
      allowPrivate: this.channel.allowPrivateNetwork,
    });
    if (response.status === 429) this.retryAfterMs = parseRetryAfter(response.headers['retry-after']);
    return { statusCode: response.status, body: response.body.toString('utf8') as TData, headers: response.headers } as RequestResult & { body: TData };
  }
}

/** Twilio repeats a key for list values (MediaUrl=a&MediaUrl=b). */
function appendParam(target: URLSearchParams, key: string, value: unknown): void {
  if (value === undefined || value === null) return;
  for (const item of Array.isArray(value) ? value : [value]) target.append(key, String(item));
}

/** Maps a failed `messages.create` to the hub's outcomes, keeping Twilio's own error code. */
export function classifySendError(error: unknown, client: ChannelRequestClient): SendResult {
  if (error instanceof OutboundHttpError) {
    if (error.kind === 'blocked') return { outcome: 'permanent', code: 'twilio_api_blocked', message: error.message };
    if (error.kind === 'unreachable') return { outcome: 'retryable', code: 'twilio_unreachable', message: error.message };
    return { outcome: 'unknown', message: `Twilio did not answer: ${error.message}` };
  }
  if (!(error instanceof twilio.RestException)) return { outcome: 'unknown', message: (error as Error).message };
  const code = error.code ? String(error.code) : `HTTP_${error.status}`;
  const message = error.message || `Twilio answered ${error.status}`;
  if (error.code === TWILIO_OPTED_OUT) return { outcome: 'permanent', code, message, optOut: { source: `sms:${TWILIO_OPTED_OUT}` } };
  if (error.status === 429 || error.code === TWILIO_TOO_MANY_REQUESTS) {
    return { outcome: 'retryable', code, message, spendsAttempt: false, ...(client.retryAfterMs !== undefined ? { retryAfterMs: client.retryAfterMs } : {}) };
  }
  // 503 says the request was not taken; after any other 5xx the message may exist at Twilio.
  if (error.status === 503) return { outcome: 'retryable', code, message };
  if (error.status >= 500) return { outcome: 'unknown', message: `${code}: ${message}` };
  return { outcome: 'permanent', code, message };
}
