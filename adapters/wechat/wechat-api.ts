import type { ChannelContext } from '../../core/channels/contract.js';
import { OutboundHttpError, sendOutboundHttp, type OutboundResponse } from '../../core/security/outbound-http.js';
import type { WechatChannelConfig } from './wechat.config.js';

export type WechatChannel = ChannelContext<WechatChannelConfig>;

/** errcodes meaning the access_token itself was refused: invalid/replaced (40001) or expired (42001). */
const TOKEN_REJECTED = new Set([40001, 42001]);
const TOKEN_KEY = 'access-token';
// Renew a little before WeChat's expiry, so a token never lapses between reading and using it.
const TOKEN_EXPIRY_MARGIN_S = 300;

export class WechatApiError extends Error {
  override name = 'WechatApiError';
  constructor(
    readonly errcode: number,
    readonly errmsg: string,
  ) {
    super(`WeChat error ${errcode}: ${errmsg}`);
  }
}

export interface WechatJsonAnswer {
  status: number;
  body: Record<string, unknown>;
  errcode: number;
  errmsg: string;
}

const url = (channel: WechatChannel, path: string, query: Record<string, string> = {}) => {
  const target = new URL(path, channel.config.apiBaseUrl.replace(/\/*$/, '/'));
  for (const [name, value] of Object.entries(query)) target.searchParams.set(name, value);
  return target.toString();
};

export function readJson(response: OutboundResponse): WechatJsonAnswer {
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(response.body.toString('utf8'));
    if (parsed && typeof parsed === 'object') body = parsed as Record<string, unknown>;
  } catch {
    // A 5xx from a proxy is HTML; the status says enough.
  }
  const errcode = typeof body.errcode === 'number' ? body.errcode : 0;
  return { status: response.status, body, errcode, errmsg: typeof body.errmsg === 'string' ? body.errmsg : '' };
}

/**
 * Fetches a token through `stable_token`, which (unlike the older `token` endpoint) does not
 * invalidate the token other processes hold; `forceRefresh` asks for a new one when WeChat
 * refused the current one.
 */
async function fetchStableToken(channel: WechatChannel, forceRefresh: boolean): Promise<string> {
  const response = await requestStableToken(channel, forceRefresh);
  const answer = readJson(response);
  const token = answer.body.access_token;
  const expiresIn = Number(answer.body.expires_in);
  if (answer.status !== 200 || answer.errcode !== 0 || typeof token !== 'string' || !(expiresIn > 0)) {
    throw new WechatApiError(answer.errcode || -1, answer.errmsg || `stable_token answered HTTP ${answer.status}`);
  }
  const ttlMs = Math.max(expiresIn - TOKEN_EXPIRY_MARGIN_S, 60) * 1000;
  await channel.store.set(TOKEN_KEY, token, ttlMs);
  return token;
}

async function requestStableToken(channel: WechatChannel, forceRefresh: boolean): Promise<OutboundResponse> {
  try {
    return await sendOutboundHttp({
      url: url(channel, 'cgi-bin/stable_token'),
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant_type: 'client_credential',
        appid: channel.config.appId,
        secret: channel.config.appSecret,
        force_refresh: forceRefresh,
      }),
      timeoutMs: channel.sendTimeoutMs,
      allowPrivate: channel.allowPrivateNetwork,
    });
  } catch (error) {
    // A lost token request is harmless to repeat, unlike a lost message send.
    if (error instanceof OutboundHttpError && error.kind === 'no-answer') throw new WechatApiError(-1, error.message);
    throw error;
  }
}

const TOKEN_LOCK = { ttlMs: 15_000, waitMs: 20_000 };

/** The cached token, or a fresh one fetched by exactly one process while the others wait for it. */
async function accessToken(channel: WechatChannel): Promise<string> {
  const cached = await channel.store.get(TOKEN_KEY);
  if (cached) return cached;
  return channel.store.withLock(TOKEN_KEY, TOKEN_LOCK, async () => (await channel.store.get(TOKEN_KEY)) ?? fetchStableToken(channel, false));
}

/** Replaces a token WeChat refused, unless another process already did while this one waited. */
async function replaceRejectedToken(channel: WechatChannel, rejected: string): Promise<string> {
  return channel.store.withLock(TOKEN_KEY, TOKEN_LOCK, async () => {
    const current = await channel.store.get(TOKEN_KEY);
    if (current && current !== rejected) return current;
    return fetchStableToken(channel, true);
  });
}

/** Checks the credentials by fetching a token, whether or not one is cached. */
export async function fetchFreshToken(channel: WechatChannel): Promise<void> {
  await fetchStableToken(channel, false);
}

/**
 * Calls an API that takes `access_token` in the query. A refused token is replaced once and the
 * call repeated once: a second refusal is returned as it is.
 */
export async function callWithToken(
  channel: WechatChannel,
  request: { path: string; query?: Record<string, string>; method?: string; body?: string | Buffer; headers?: Record<string, string>; maxResponseBytes?: number },
): Promise<OutboundResponse> {
  const { path, query = {}, method = 'POST', body, headers, maxResponseBytes } = request;
  const send = (token: string) =>
    sendOutboundHttp({
      url: url(channel, path, { ...query, access_token: token }),
      method,
      ...(headers ? { headers } : {}),
      ...(body !== undefined ? { body } : {}),
      timeoutMs: channel.sendTimeoutMs,
      allowPrivate: channel.allowPrivateNetwork,
      ...(maxResponseBytes ? { maxResponseBytes } : {}),
    });
  const token = await accessToken(channel);
  const first = await send(token);
  if (!isJson(first) || !TOKEN_REJECTED.has(readJson(first).errcode)) return first;
  return send(await replaceRejectedToken(channel, token));
}

export function isJson(response: OutboundResponse): boolean {
  return /json|text\/plain/i.test(String(response.headers['content-type'] ?? ''));
}

/** POSTs a JSON body to a token-authenticated API and reads WeChat's JSON answer. */
export async function postJson(channel: WechatChannel, path: string, body: unknown): Promise<WechatJsonAnswer> {
  const response = await callWithToken(channel, { path, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return readJson(response);
}
