import type { ChannelContext } from '../../core/channels/contract.js';
import { OutboundHttpError, sendOutboundHttp } from '../../core/security/outbound-http.js';
import { basicAuth, onApiBase } from './sms-twilio.client.js';
import type { SmsTwilioConfig } from './sms-twilio.config.js';

/** Twilio accepts at most 5 MB of media per message. */
const MAX_MEDIA_BYTES = 5 * 1024 * 1024;
const MAX_REDIRECTS = 3;
const TWILIO_API_ORIGIN = 'https://api.twilio.com';

/** Media that will never be fetched as it is (foreign host, gone, too large): kept as a note, not retried. */
export class MediaRefusedError extends Error {
  override name = 'MediaRefusedError';
}

/**
 * Twilio serves a message's media from its REST API, which answers with a redirect to a
 * short-lived URL on its media CDN (or the S3 bucket behind it).
 */
export function isTwilioMediaCdn(url: URL): boolean {
  if (url.protocol !== 'https:') return false;
  if (url.hostname.endsWith('.twiliocdn.com')) return true;
  return url.hostname === 's3-external-1.amazonaws.com' && url.pathname.startsWith('/media.twiliocdn.com/');
}

/**
 * Downloads one MediaUrl of an inbound MMS. Only Twilio's hosts are ever contacted, redirects
 * included, so a crafted URL cannot make the hub fetch from inside the bank's network; the
 * account credentials go to the API host only, never to the CDN.
 */
export async function fetchTwilioMedia(
  mediaUrl: string,
  channel: ChannelContext<SmsTwilioConfig>,
): Promise<{ data: Buffer; contentType: string | undefined }> {
  const api = new URL(channel.config.apiBaseUrl);
  let url: URL;
  try {
    url = new URL(mediaUrl);
  } catch {
    throw new MediaRefusedError(`media URL ${mediaUrl} is not a URL`);
  }
  // Media lives on Twilio's REST API, reached through apiBaseUrl like every other API call.
  if (url.origin === TWILIO_API_ORIGIN) url = onApiBase(channel.config, url);
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const onApi = url.origin === api.origin;
    if (!onApi && !isTwilioMediaCdn(url)) throw new MediaRefusedError(`media host ${url.host} is not one of Twilio's media hosts`);
    let response;
    try {
      response = await sendOutboundHttp({
        url: url.href,
        method: 'GET',
        headers: onApi ? { authorization: basicAuth(channel.config) } : {},
        timeoutMs: channel.sendTimeoutMs,
        allowPrivate: channel.allowPrivateNetwork,
        maxResponseBytes: MAX_MEDIA_BYTES,
      });
    } catch (error) {
      if (error instanceof OutboundHttpError && error.kind === 'blocked') throw new MediaRefusedError(error.message);
      throw error;
    }
    const location = response.headers.location;
    if (response.status >= 300 && response.status < 400 && location) {
      url = new URL(location, url);
      continue;
    }
    if (response.status === 200) {
      if (response.truncated) throw new MediaRefusedError(`media at ${url.host} is larger than ${MAX_MEDIA_BYTES} bytes`);
      return { data: response.body, contentType: response.headers['content-type']?.split(';')[0]?.trim() || undefined };
    }
    // Gone, or refused for good; a 5xx or 429 is worth processing the event again later.
    if (response.status >= 400 && response.status < 500 && response.status !== 429) {
      throw new MediaRefusedError(`Twilio answered ${response.status} for media ${url.pathname}`);
    }
    throw new Error(`Twilio answered ${response.status} for media ${url.pathname}`);
  }
  throw new MediaRefusedError(`media ${mediaUrl} redirected more than ${MAX_REDIRECTS} times`);
}
