import { constantTimeEqual, hmacSha256Hex } from '../../core/security/signatures.js';

/*
 * Tokens the hub puts in addresses and links of its own mail. Each carries an HMAC with the
 * channel's secret, so nobody can steer a mail into another customer's conversation or
 * unsubscribe someone else by guessing ids.
 */

const sign = (secret: string, purpose: string, value: string, length: number) => hmacSha256Hex(secret, `${purpose}:${value}`).slice(0, length);

/** `care+c<conversation id without dashes>.<signature>@bank.example`: replies come back tagged. */
export function replyAddress(address: string, secret: string, conversationId: string): string {
  const [local, domain] = splitAddress(address);
  const id = conversationId.replaceAll('-', '');
  return `${local}+c${id}.${sign(secret, 'reply', id, 10)}@${domain}`;
}

/** The conversation a plus address names, when its signature holds. */
export function conversationFromAddress(address: string, secret: string): string | undefined {
  const match = /\+c([0-9a-f]{32})\.([0-9a-f]{10})@/i.exec(address);
  if (!match) return undefined;
  const id = match[1]!.toLowerCase();
  if (!constantTimeEqual(match[2]!.toLowerCase(), sign(secret, 'reply', id, 10))) return undefined;
  return `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20)}`;
}

/** The address without a +tag, as channels are configured. */
export function baseAddress(address: string): string {
  const [local, domain] = splitAddress(address.toLowerCase());
  return `${local.split('+')[0]}@${domain}`;
}

function splitAddress(address: string): [string, string] {
  const at = address.lastIndexOf('@');
  return [address.slice(0, at), address.slice(at + 1)];
}

/** A token for the one-click unsubscribe link: the recipient address, signed. */
export function unsubscribeToken(secret: string, address: string): string {
  const value = Buffer.from(address.toLowerCase()).toString('base64url');
  return `${value}.${sign(secret, 'unsubscribe', value, 32)}`;
}

/** The address an unsubscribe token was issued for, when its signature holds. */
export function addressFromUnsubscribeToken(secret: string, token: string): string | undefined {
  const [value, signature] = token.split('.');
  if (!value || !signature || !constantTimeEqual(signature, sign(secret, 'unsubscribe', value, 32))) return undefined;
  return Buffer.from(value, 'base64url').toString('utf8');
}
