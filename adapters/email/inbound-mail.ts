import { createHash } from 'node:crypto';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import sanitizeHtml from 'sanitize-html';

/** An inbound mail as stored in `inbound_events`: the original MIME, untouched, and how it came. */
export interface StoredMail {
  raw: string;
  via: 'smtp' | 'imap' | 'webhook';
  /** SMTP envelope recipients; their +tags may carry a reply token the headers lack. */
  recipients?: string[];
}

export function toStoredMail(raw: Buffer, via: StoredMail['via'], recipients?: string[]): StoredMail {
  return { raw: raw.toString('base64'), via, ...(recipients?.length ? { recipients } : {}) };
}

/**
 * Message-ID plus a hash of the body: the same mail relayed twice (SMTP retry, IMAP re-poll)
 * collapses to one event, whatever Received headers the relays added; a different mail that
 * reuses a Message-ID still gets its own event.
 */
export function mailDedupeKey(raw: Buffer): { key: string; messageId: string | undefined; bodyHash: string } {
  const text = raw.toString('latin1');
  const split = text.search(/\r?\n\r?\n/);
  const headers = split < 0 ? text : text.slice(0, split);
  const body = split < 0 ? '' : text.slice(split);
  const bodyHash = createHash('sha256').update(body, 'latin1').digest('hex').slice(0, 32);
  const unfolded = headers.replace(/\r?\n[ \t]+/g, ' ');
  const messageId = stripBrackets(/^message-id:\s*(.+)$/im.exec(unfolded)?.[1]);
  return { key: messageId ? `${messageId.slice(0, 400)}#${bodyHash}` : `nomid#${createHash('sha256').update(raw).digest('hex')}`, messageId, bodyHash };
}

export function stripBrackets(id: string | undefined): string | undefined {
  const trimmed = id?.trim().replace(/^<|>$/g, '').trim();
  return trimmed || undefined;
}

export function parseMail(raw: Buffer): Promise<ParsedMail> {
  // The delivery-status part of a bounce is kept as an attachment, so it can be read field by field.
  return simpleParser(raw, { keepDeliveryStatus: true, skipImageLinks: true });
}

export function addressesOf(field: AddressObject | AddressObject[] | undefined): Array<{ address: string; name: string }> {
  const list = Array.isArray(field) ? field : field ? [field] : [];
  return list.flatMap((a) => a.value).flatMap((v) => (v.address ? [{ address: v.address.toLowerCase(), name: v.name }] : []));
}

/**
 * HTML as it may be shown to agents: no scripts, styles that escape their box, forms, or remote
 * images (which would tell the sender when and where the mail was read).
 */
export function sanitizeMailHtml(html: string): string {
  return sanitizeHtml(html, {
    allowedTags: [...sanitizeHtml.defaults.allowedTags, 'img', 'font', 'center'],
    allowedAttributes: { ...sanitizeHtml.defaults.allowedAttributes, img: ['src', 'alt', 'width', 'height'], '*': ['align', 'dir'] },
    allowedSchemesByTag: { img: ['cid', 'data'] },
    allowedSchemes: ['http', 'https', 'mailto', 'tel'],
    transformTags: { a: sanitizeHtml.simpleTransform('a', { rel: 'noopener noreferrer nofollow', target: '_blank' }) },
  });
}

// Lines where quoted history begins in the clients customers use (English and Chinese locales).
const historyStarts = [
  /^On .+ wrote:\s*$/,
  /^在.+写道[:：]\s*$/,
  /^於.+寫道[:：]\s*$/,
  /^-{2,}\s*(Original Message|原始邮件|原始郵件|回复的原邮件)\s*-{2,}\s*$/i,
  /^(From|发件人|寄件者)[:：]\s.+$/,
  /^>/,
];
// "-- " is the standard signature separator; mobile clients add their own footers.
const signatureStarts = [/^-- ?$/, /^Sent from my /i, /^发自我的/, /^從我的.+傳送$/];

/** The text a customer actually wrote in this mail: quoted history and signature cut off. */
export function visibleText(text: string): string {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const cut = lines.findIndex((line) => historyStarts.some((p) => p.test(line.trim())) || signatureStarts.some((p) => p.test(line)));
  return (cut < 0 ? lines : lines.slice(0, cut)).join('\n').trim();
}

export interface DeliveryReport {
  originalMessageId: string;
  recipient: string | undefined;
  action: string;
  status: string;
  diagnostic: string | undefined;
}

/** Reads a DSN (RFC 3464 multipart/report); undefined for any other mail. */
export function readDeliveryReport(mail: ParsedMail): DeliveryReport | undefined {
  const reportType = mail.headers.get('content-type') as { value?: string; params?: Record<string, string> } | undefined;
  if (reportType?.value !== 'multipart/report' || reportType.params?.['report-type']?.toLowerCase() !== 'delivery-status') return undefined;
  const statusPart = mail.attachments.find((a) => a.contentType === 'message/delivery-status');
  const original = mail.attachments.find((a) => a.contentType === 'message/rfc822' || a.contentType === 'text/rfc822-headers');
  if (!statusPart || !original) return undefined;
  const originalMessageId = mailDedupeKey(Buffer.concat([original.content, Buffer.from('\r\n\r\n')])).messageId;
  if (!originalMessageId) return undefined;
  // Per-recipient fields follow the per-message block; one recipient per bounce is the norm.
  const fields = new Map<string, string>();
  for (const line of statusPart.content.toString('utf8').replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const match = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
    if (match) fields.set(match[1]!.toLowerCase(), match[2]!.trim());
  }
  return {
    originalMessageId,
    recipient: fields.get('final-recipient')?.replace(/^rfc822;\s*/i, '').toLowerCase(),
    action: (fields.get('action') ?? '').toLowerCase(),
    status: fields.get('status') ?? '',
    diagnostic: fields.get('diagnostic-code')?.replace(/^smtp;\s*/i, ''),
  };
}
