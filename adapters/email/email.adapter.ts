import net from 'node:net';
import { htmlToText } from 'html-to-text';
import nodemailer from 'nodemailer';
import type { ChannelAdapter, ChannelContext, HttpReply, NormalizedEvent, NormalizeTools, OutboundMessage, SendResult } from '../../core/channels/contract.js';
import { PermanentEventError } from '../../core/channels/contract.js';
import { OutboundHttpError, resolveOutboundHost } from '../../core/security/outbound-http.js';
import { constantTimeEqual } from '../../core/security/signatures.js';
import { emailChannelConfig, emailSecretFields, type EmailChannelConfig } from './email.config.js';
import {
  addressesOf,
  mailDedupeKey,
  parseMail,
  readDeliveryReport,
  sanitizeMailHtml,
  stripBrackets,
  toStoredMail,
  visibleText,
  type StoredMail,
} from './inbound-mail.js';
import { conversationFromAddress, replyAddress, unsubscribeToken } from './reply-token.js';

const text = (status: number, body: string): HttpReply => ({ status, contentType: 'text/plain', body });

/** The path of the one-click unsubscribe page, under the hub's public base URL. */
const unsubscribePath = (channelId: string, token: string) => `/email/unsubscribe/${channelId}/${token}`;

/**
 * Email: mail arrives by the built-in SMTP listener, by IMAP polling or as raw MIME posted to the
 * webhook, and leaves through the channel's SMTP relay. The sender's address is not proven by
 * the mail itself, so identities it creates are unverified.
 */
export const emailAdapter: ChannelAdapter<EmailChannelConfig> = {
  type: 'email',
  displayName: 'Email',
  configSchema: emailChannelConfig,
  secretFields: emailSecretFields,
  reachableKinds: ['email'],
  outboundTargets: (config) => [
    ...(config.smtpHost ? [{ field: 'smtpHost', target: config.smtpHost }] : []),
    ...(config.imapHost ? [{ field: 'imapHost', target: config.imapHost }] : []),
  ],

  async verifyInbound(request, channel) {
    if (request.method !== 'POST') return { ok: false, reply: text(405, 'use POST with a message/rfc822 body') };
    const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
    if (!match) return { ok: false, reply: text(401, 'send Authorization: Bearer <the channel webhookSecret>') };
    if (!constantTimeEqual(match[1]!, channel.config.webhookSecret)) return { ok: false, reply: text(403, 'the channel secret does not match') };
    if (!/^message\/rfc822\b/i.test(request.headers['content-type'] ?? '')) {
      return { ok: false, reply: text(415, 'the body must be a raw mail with Content-Type: message/rfc822') };
    }
    if (!request.rawBody.length) return { ok: false, reply: text(400, 'the body is empty') };
    const { key } = mailDedupeKey(request.rawBody);
    return { ok: true, events: [{ dedupeKey: key, payload: toStoredMail(request.rawBody, 'webhook') }], reply: text(202, 'accepted') };
  },

  async normalize(payload, channel, tools) {
    const stored = payload as StoredMail;
    if (typeof stored?.raw !== 'string') throw new PermanentEventError('the stored event holds no raw mail');
    const raw = Buffer.from(stored.raw, 'base64');
    const mail = await parseMail(raw);

    const report = readDeliveryReport(mail);
    if (report) {
      if (report.action !== 'failed') return { type: 'ignored', reason: `delivery report with action ${report.action || 'none'}` };
      return {
        type: 'status',
        providerMessageId: report.originalMessageId,
        status: 'failed',
        errorCode: report.status || 'bounced',
        errorMessage: report.diagnostic ?? `bounced: ${report.status}`,
        // 5.x.x is a permanent failure: the address does not exist or refuses mail for good.
        suppressRecipient: report.status.startsWith('5'),
      };
    }

    const [from] = addressesOf(mail.from);
    if (!from) throw new PermanentEventError('the mail has no From address');
    return { type: 'message', sender: { kind: 'email', value: from.address, verified: false, ...(from.name ? { name: from.name } : {}) }, ...(await describeMail(mail, raw, stored, channel, tools)) };
  },

  async send(message, channel) {
    const { config } = channel;
    if (!config.smtpHost) return { outcome: 'permanent', code: 'no_smtp_relay', message: 'the channel has no smtpHost to send through' };
    if (message.payload.category === 'marketing' && !channel.publicBaseUrl) {
      return { outcome: 'permanent', code: 'no_unsubscribe_url', message: 'marketing mail needs PUBLIC_BASE_URL for its unsubscribe link' };
    }
    const mail = composeMail(message, channel);
    const transport = await openTransport(channel).catch((error: unknown) => error as OutboundHttpError);
    if (transport instanceof OutboundHttpError) {
      return transport.kind === 'blocked'
        ? { outcome: 'permanent', code: 'private_address', message: `smtpHost ${transport.message}` }
        : { outcome: 'retryable', code: 'smtp_edns', message: transport.message };
    }
    try {
      const info = await transport.sendMail(mail);
      if (info.rejected.length) return { outcome: 'permanent', code: 'rejected', message: `the relay refused ${info.rejected.join(', ')}` };
      return { outcome: 'sent', providerMessageId: stripBrackets(mail.messageId)! };
    } catch (error) {
      return classifySmtpError(error as SmtpError);
    } finally {
      transport.close();
    }
  },

  async testConnection(channel) {
    if (!channel.config.smtpHost) return { ok: false, message: 'no smtpHost configured' };
    const transport = await openTransport(channel).catch((error: unknown) => error as OutboundHttpError);
    if (transport instanceof OutboundHttpError) return { ok: false, message: `smtpHost ${transport.message}` };
    try {
      await transport.verify();
      return { ok: true, message: `connected to ${channel.config.smtpHost}:${channel.config.smtpPort}` };
    } catch (error) {
      return { ok: false, message: (error as Error).message };
    } finally {
      transport.close();
    }
  },
};

type Parsed = Awaited<ReturnType<typeof parseMail>>;
type MessageParts = Pick<Extract<NormalizedEvent, { type: 'message' }>, 'content' | 'providerMessageId' | 'threadHint'>;

async function describeMail(
  mail: Parsed,
  raw: Buffer,
  stored: StoredMail,
  channel: ChannelContext<EmailChannelConfig>,
  tools: NormalizeTools,
): Promise<MessageParts> {
  const { messageId, bodyHash } = mailDedupeKey(raw);
  const attachments = [];
  for (const file of mail.attachments) {
    const ref = await tools.storeAttachment({ data: file.content, contentType: file.contentType, fileName: file.filename ?? null });
    attachments.push({ ...ref, inline: file.contentDisposition === 'inline', ...(file.cid ? { contentId: file.cid } : {}) });
  }
  // HTML-only mail (common from mobile and webmail clients) still needs a text to show.
  const fullText = mail.text?.trim() ? mail.text : typeof mail.html === 'string' ? htmlToText(mail.html, { selectors: [{ selector: 'img', format: 'skip' }] }) : '';
  // PostgreSQL text and jsonb cannot hold NUL, which broken mailers do put in mail.
  const originalText = fullText.replaceAll('\u0000', '');
  const shown = visibleText(originalText);
  const references = (Array.isArray(mail.references) ? mail.references : mail.references ? [mail.references] : []).flatMap((r) => stripBrackets(r) ?? []);
  const inReplyTo = stripBrackets(mail.inReplyTo);
  const addressed = [...addressesOf(mail.to), ...addressesOf(mail.cc)].map((a) => a.address).concat(stored.recipients ?? []);
  const conversationId = addressed.map((a) => conversationFromAddress(a, channel.config.webhookSecret)).find(Boolean);
  const reused = messageId ? await noteMessageId(channel, messageId, bodyHash) : false;

  return {
    content: {
      kind: shown || !attachments.length ? 'text' : kindOf(attachments[0]!.contentType),
      text: shown || (attachments.length ? '' : '(empty mail)'),
      payload: {
        subject: (mail.subject ?? '').replaceAll('\u0000', ''),
        ...(messageId ? { messageId } : {}),
        ...(inReplyTo ? { inReplyTo } : {}),
        references,
        originalText,
        ...(typeof mail.html === 'string' ? { html: sanitizeMailHtml(mail.html.replaceAll('\u0000', '')) } : {}),
        ...(attachments.length ? { attachments } : {}),
        ...(reused ? { messageIdReused: true } : {}),
        via: stored.via,
      },
    },
    ...(messageId ? { providerMessageId: messageId } : {}),
    threadHint: {
      providerMessageIds: [...(inReplyTo ? [inReplyTo] : []), ...[...references].reverse()],
      ...(conversationId ? { conversationId } : {}),
    },
  };
}

/**
 * Remembers the body each Message-ID first came with. A later mail with the same Message-ID and
 * another body is kept (it may be a real message from a broken client) but flagged for agents.
 */
async function noteMessageId(channel: ChannelContext<EmailChannelConfig>, messageId: string, bodyHash: string): Promise<boolean> {
  const key = `message-id:${messageId}`;
  return channel.store.withLock(key, { ttlMs: 5_000, waitMs: 5_000 }, async () => {
    const first = await channel.store.get(key);
    if (first === null) await channel.store.set(key, bodyHash);
    return first !== null && first !== bodyHash;
  });
}

function kindOf(contentType: string): 'image' | 'audio' | 'video' | 'file' {
  const major = contentType.split('/')[0];
  return major === 'image' || major === 'audio' || major === 'video' ? major : 'file';
}

/**
 * A transport to the channel's relay at the address the outbound guard resolved and checked:
 * nodemailer connects to that address, not to the name (which could resolve elsewhere the second
 * time), and TLS still verifies the certificate against the name.
 */
async function openTransport(channel: ChannelContext<EmailChannelConfig>) {
  const { config } = channel;
  const timeoutMs = channel.sendTimeoutMs;
  const host = config.smtpHost!;
  const { address } = await resolveOutboundHost(host, { allowPrivate: channel.allowPrivateNetwork, timeoutMs });
  return nodemailer.createTransport({
    host: address,
    ...(net.isIP(host) ? {} : { servername: host }),
    port: config.smtpPort,
    secure: config.smtpSecure,
    requireTLS: config.smtpRequireTls,
    ...(config.smtpUser ? { auth: { user: config.smtpUser, pass: config.smtpPassword } } : {}),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    ...(config.dkimPrivateKey
      ? { dkim: { domainName: config.dkimDomain!, keySelector: config.dkimSelector!, privateKey: config.dkimPrivateKey } }
      : {}),
  });
}

export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function composeMail(message: OutboundMessage, channel: ChannelContext<EmailChannelConfig>) {
  const { config } = channel;
  const domain = config.address.split('@')[1]!;
  const previous = message.inReplyTo;
  const previousSubject = typeof previous?.payload.subject === 'string' ? previous.payload.subject : '';
  const subject =
    typeof message.payload.subject === 'string'
      ? message.payload.subject
      : previousSubject
        ? previousSubject.replace(/^(?!re:)/i, 'Re: ')
        : (config.fromName ?? 'Your message');
  // Clients thread by References: the customer's chain plus the mail being answered (RFC 5322 3.6.4).
  const priorReferences = Array.isArray(previous?.payload.references) ? (previous.payload.references as string[]) : [];
  const references = previous ? [...priorReferences, previous.providerMessageId].map((id) => `<${id}>`) : [];
  const body = message.text ?? '';
  const marketing = message.payload.category === 'marketing';
  const unsubscribeUrl =
    marketing
      ? `${channel.publicBaseUrl!.replace(/\/+$/, '')}${unsubscribePath(channel.id, unsubscribeToken(config.webhookSecret, message.recipient.value))}`
      : undefined;
  return {
    // Derived from the hub's message id, so a retried send carries the same Message-ID.
    messageId: `<${message.id}@${domain}>`,
    from: config.fromName ? { name: config.fromName, address: config.address } : config.address,
    to: message.recipient.value,
    replyTo: replyAddress(config.address, config.webhookSecret, message.conversationId),
    subject,
    text: body,
    html: typeof message.payload.html === 'string' ? message.payload.html : `<div style="white-space:pre-wrap">${escapeHtml(body)}</div>`,
    ...(previous ? { inReplyTo: `<${previous.providerMessageId}>`, references } : {}),
    attachments: (message.attachments ?? []).map((a) => ({ content: a.data, contentType: a.contentType, filename: a.fileName ?? 'attachment' })),
    ...(unsubscribeUrl
      ? { list: { unsubscribe: unsubscribeUrl }, headers: { 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' } }
      : {}),
  };
}

type SmtpError = Error & { code?: string; responseCode?: number; response?: string };

/** SMTP 5xx will fail again; 4xx and connection trouble are worth another try. */
function classifySmtpError(error: SmtpError): SendResult {
  const message = error.response ?? error.message;
  if (error.responseCode && error.responseCode >= 500) return { outcome: 'permanent', code: `SMTP_${error.responseCode}`, message };
  if (error.responseCode && error.responseCode >= 400) return { outcome: 'retryable', code: `SMTP_${error.responseCode}`, message };
  if (error.code === 'EAUTH') return { outcome: 'permanent', code: 'smtp_auth', message };
  // Failing before DATA was accepted means the relay did not take the mail.
  if (error.code === 'ECONNECTION' || error.code === 'EDNS') {
    return { outcome: 'retryable', code: `smtp_${error.code.toLowerCase()}`, message };
  }
  return { outcome: 'unknown', message };
}
