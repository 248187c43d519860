import type { HttpReply, InboundHttpRequest, MessageContent, NormalizedEvent, NormalizeTools, VerifyResult } from '../../core/channels/contract.js';
import { PermanentEventError } from '../../core/channels/contract.js';
import { sendOutboundHttp } from '../../core/security/outbound-http.js';
import { constantTimeEqual } from '../../core/security/signatures.js';
import { callWithToken, isJson, readJson, type WechatChannel } from './wechat-api.js';
import { computeSignature, decodeAesKey, decryptMessage, WechatCryptoError } from './wechat-crypto.js';
import { parseWechatXml, WechatXmlError } from './wechat-xml.js';

/** WeChat messages are a few kilobytes; anything far larger is not from WeChat. */
const MAX_XML_BYTES = 64 * 1024;
// Images and videos WeChat relays are at most 10 MB.
const MAX_MEDIA_BYTES = 20 * 1024 * 1024;
/** errcodes of media/get meaning the file will never be available (wrong or expired media id). */
const MEDIA_GONE = new Set([40007]);

const plain = (status: number, body: string): HttpReply => ({ status, contentType: 'text/plain; charset=utf-8', body });
const refuse = (status: number, error: string): VerifyResult => ({ ok: false, reply: plain(status, error) });

/** WeChat retries anything but this exact body, so it is the acknowledgement of a stored event. */
const SUCCESS = plain(200, 'success');

type WechatFields = Record<string, string>;

function aesKeys(channel: WechatChannel): Buffer[] {
  const { encodingAESKey, previousEncodingAESKey } = channel.config;
  return [encodingAESKey, previousEncodingAESKey].filter((k): k is string => !!k).map(decodeAesKey);
}

function signatureMatches(given: string | undefined, parts: string[]): boolean {
  return !!given && constantTimeEqual(given.toLowerCase(), computeSignature(parts));
}

/** Server verification (the admin console's "submit" button): echo `echostr`, decrypted in safe mode. */
function verifyEndpoint(request: InboundHttpRequest, channel: WechatChannel): VerifyResult {
  const { signature, msg_signature: msgSignature, timestamp = '', nonce = '', echostr } = request.query;
  if (!echostr) return refuse(400, 'missing echostr');
  const { token } = channel.config;
  if (msgSignature !== undefined) {
    if (!signatureMatches(msgSignature, [token, timestamp, nonce, echostr])) return refuse(403, 'signature does not match');
    const keys = aesKeys(channel);
    if (!keys.length) return refuse(400, 'this channel has no EncodingAESKey to decrypt echostr with');
    try {
      return { ok: true, events: [], reply: plain(200, decryptMessage({ aesKeys: keys, appId: channel.config.appId, ciphertext: echostr })) };
    } catch (error) {
      if (error instanceof WechatCryptoError) return refuse(400, 'message could not be decrypted');
      throw error;
    }
  }
  if (!signatureMatches(signature, [token, timestamp, nonce])) return refuse(403, 'signature does not match');
  return { ok: true, events: [], reply: plain(200, echostr) };
}

function parse(body: Buffer | string): WechatFields | VerifyResult {
  try {
    return parseWechatXml(body, { maxBytes: MAX_XML_BYTES });
  } catch (error) {
    if (!(error instanceof WechatXmlError)) throw error;
    return refuse(error.code === 'too_large' ? 413 : 400, error.message);
  }
}
const isRefusal = (value: WechatFields | VerifyResult): value is VerifyResult => typeof value.ok === 'boolean';

/**
 * Authenticates a message delivery. The query's `signature` is checked before the body is even
 * parsed; in safe and compatible mode `msg_signature` over the ciphertext is checked before
 * decrypting, because AES-CBC alone does not authenticate anything.
 */
export function verifyWechatRequest(request: InboundHttpRequest, channel: WechatChannel): VerifyResult {
  if (request.method === 'GET') return verifyEndpoint(request, channel);
  if (request.method !== 'POST') return refuse(405, 'use GET (verification) or POST (messages)');
  const { signature, msg_signature: msgSignature, encrypt_type: encryptType, timestamp = '', nonce = '' } = request.query;
  const { token } = channel.config;
  if (!signatureMatches(signature, [token, timestamp, nonce])) return refuse(403, 'signature does not match');
  if (request.rawBody.length > MAX_XML_BYTES) return refuse(413, `body exceeds ${MAX_XML_BYTES} bytes`);

  const outer = parse(request.rawBody);
  if (isRefusal(outer)) return outer;
  let fields = outer;
  if (encryptType === 'aes') {
    const ciphertext = outer.Encrypt;
    if (!ciphertext) return refuse(400, 'encrypt_type=aes but the body has no <Encrypt>');
    if (!signatureMatches(msgSignature, [token, timestamp, nonce, ciphertext])) return refuse(403, 'msg_signature does not match');
    const keys = aesKeys(channel);
    if (!keys.length) return refuse(400, 'this channel has no EncodingAESKey to decrypt with; set it or switch the account to plaintext mode');
    let decrypted: string;
    try {
      decrypted = decryptMessage({ aesKeys: keys, appId: channel.config.appId, ciphertext });
    } catch (error) {
      // One answer for bad padding, wrong key and wrong appid alike.
      if (error instanceof WechatCryptoError) return refuse(400, 'message could not be decrypted');
      throw error;
    }
    const inner = parse(decrypted);
    if (isRefusal(inner)) return refuse(400, 'the decrypted message is not WeChat XML');
    fields = inner;
  } else if (encryptType !== undefined && encryptType !== 'raw') {
    return refuse(400, `unsupported encrypt_type ${encryptType}`);
  }

  const { FromUserName: from, MsgType: msgType, CreateTime: createTime, MsgId: msgId, Event: event } = fields;
  if (!from || !msgType || !createTime) return refuse(400, 'the message lacks FromUserName, MsgType or CreateTime');
  // Events carry no MsgId; WeChat documents sender + time + event name as their identity.
  const dedupeKey = msgId ? `msg:${msgId}` : `event:${from}:${createTime}:${event ?? msgType}`;
  return { ok: true, events: [{ dedupeKey, payload: { ...fields } }], reply: SUCCESS };
}

async function fetchMedia(channel: WechatChannel, mediaId: string): Promise<{ data: Buffer; contentType: string; fileName: string | null } | null> {
  let response = await callWithToken(channel, { path: 'cgi-bin/media/get', method: 'GET', query: { media_id: mediaId }, maxResponseBytes: MAX_MEDIA_BYTES });
  if (isJson(response)) {
    const answer = readJson(response);
    // Videos are not served inline: media/get answers with a link to download them from.
    const videoUrl = answer.body.video_url;
    if (answer.errcode === 0 && typeof videoUrl === 'string') {
      // The link is pre-authorized: the access token must not travel to whatever host it names.
      response = await sendOutboundHttp({
        url: videoUrl,
        method: 'GET',
        timeoutMs: channel.sendTimeoutMs,
        allowPrivate: channel.allowPrivateNetwork,
        maxResponseBytes: MAX_MEDIA_BYTES,
      });
    } else if (MEDIA_GONE.has(answer.errcode)) {
      return null;
    } else {
      throw new Error(`media/get failed: WeChat error ${answer.errcode}: ${answer.errmsg}`);
    }
  }
  if (response.status !== 200 || isJson(response)) {
    throw new Error(`media download answered HTTP ${response.status}: ${response.body.toString('utf8').slice(0, 200)}`);
  }
  const declared = Number(response.headers['content-length']);
  if (Number.isFinite(declared) && declared !== response.body.length) throw new Error('media/get answer was cut short');
  const disposition = String(response.headers['content-disposition'] ?? '');
  const fileName = /filename="?([^";]+)"?/i.exec(disposition)?.[1] ?? null;
  return { data: response.body, contentType: String(response.headers['content-type'] ?? 'application/octet-stream').split(';')[0]!, fileName };
}

async function mediaContent(
  channel: WechatChannel,
  tools: NormalizeTools,
  kind: 'image' | 'audio' | 'video',
  fields: WechatFields,
  extra: Record<string, unknown>,
  text?: string,
): Promise<MessageContent> {
  const mediaId = fields.MediaId;
  const file = mediaId ? await fetchMedia(channel, mediaId) : null;
  const attachment = file ? await tools.storeAttachment(file) : null;
  return {
    kind,
    ...(text ? { text } : {}),
    payload: { ...extra, ...(attachment ? { attachments: [attachment] } : { mediaUnavailable: true }) },
  };
}

function eventContent(fields: WechatFields): MessageContent | null {
  const event = fields.Event ?? '';
  const key = fields.EventKey ?? '';
  switch (event.toLowerCase()) {
    case 'subscribe':
      // Following by scanning a parametrized QR code puts "qrscene_<scene>" in EventKey.
      return { kind: 'event', payload: { event: 'subscribe', ...(key.startsWith('qrscene_') ? { scene: key.slice(8), ticket: fields.Ticket } : {}) } };
    case 'unsubscribe':
      return { kind: 'event', payload: { event: 'unsubscribe' } };
    case 'scan':
      return { kind: 'event', payload: { event: 'scan', scene: key, ticket: fields.Ticket } };
    case 'click':
      return { kind: 'event', payload: { event: 'menu_click', key } };
    case 'view':
      return { kind: 'event', payload: { event: 'menu_view', url: key } };
    case 'location':
      return {
        kind: 'event',
        payload: { event: 'location', location: { latitude: Number(fields.Latitude), longitude: Number(fields.Longitude), precision: Number(fields.Precision) } },
      };
    default:
      return null;
  }
}

async function content(fields: WechatFields, channel: WechatChannel, tools: NormalizeTools): Promise<MessageContent | null> {
  switch (fields.MsgType) {
    case 'text':
      return { kind: 'text', text: fields.Content ?? '' };
    case 'image':
      return mediaContent(channel, tools, 'image', fields, { pictureUrl: fields.PicUrl });
    case 'voice':
      // Recognition is WeChat's speech-to-text, present when the account enabled it.
      return mediaContent(channel, tools, 'audio', fields, { format: fields.Format }, fields.Recognition?.trim() || undefined);
    case 'video':
    case 'shortvideo':
      return mediaContent(channel, tools, 'video', fields, { short: fields.MsgType === 'shortvideo' });
    case 'location':
      return {
        kind: 'location',
        ...(fields.Label ? { text: fields.Label } : {}),
        payload: { location: { latitude: Number(fields.Location_X), longitude: Number(fields.Location_Y), scale: Number(fields.Scale), label: fields.Label ?? null } },
      };
    case 'link':
      return { kind: 'link', text: fields.Title ?? fields.Url ?? '', payload: { link: { title: fields.Title, description: fields.Description, url: fields.Url } } };
    case 'event':
      return eventContent(fields);
    default:
      return null;
  }
}

export async function normalizeWechatEvent(payload: unknown, channel: WechatChannel, tools: NormalizeTools): Promise<NormalizedEvent> {
  if (!payload || typeof payload !== 'object') throw new PermanentEventError('the stored WeChat event is not an object');
  const fields = payload as WechatFields;
  if (!fields.FromUserName) throw new PermanentEventError('the stored WeChat event has no FromUserName');
  const normalized = await content(fields, channel, tools);
  if (!normalized) return { type: 'ignored', reason: `WeChat ${fields.MsgType} ${fields.Event ?? ''} is not a customer interaction`.trim() };
  return {
    type: 'message',
    sender: { kind: 'wechat_openid', value: fields.FromUserName, verified: true, scoped: true },
    content: normalized,
    ...(fields.MsgId ? { providerMessageId: fields.MsgId } : {}),
  };
}
