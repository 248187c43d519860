import { randomBytes } from 'node:crypto';
import { computeSignature, decodeAesKey, encryptMessage } from './wechat-crypto.js';
import { buildWechatXml } from './wechat-xml.js';

interface PushAccount {
  appId: string;
  token: string;
  encodingAESKey?: string;
}

export interface PushRequest {
  query: Record<string, string>;
  body: string;
}

const freshQuery = () => ({ timestamp: String(Math.floor(Date.now() / 1000)), nonce: String(randomBytes(4).readUInt32BE()) });

/** What WeChat's servers send an account's server URL in plaintext mode. */
export function plaintextPush(account: PushAccount, fields: Record<string, string | number>): PushRequest {
  const { timestamp, nonce } = freshQuery();
  return {
    query: { signature: computeSignature([account.token, timestamp, nonce]), timestamp, nonce, openid: String(fields.FromUserName ?? '') },
    body: buildWechatXml(fields),
  };
}

/**
 * What WeChat sends in safe mode (or, with `compatible`, in compatible mode, where the plaintext
 * fields travel beside the ciphertext).
 */
export function encryptedPush(
  account: PushAccount,
  fields: Record<string, string | number>,
  options: { key?: string; compatible?: boolean } = {},
): PushRequest {
  const { timestamp, nonce } = freshQuery();
  const ciphertext = encryptMessage({
    aesKey: decodeAesKey(options.key ?? account.encodingAESKey!),
    appId: account.appId,
    plaintext: buildWechatXml(fields),
  });
  return signedEnvelope(account, { timestamp, nonce }, ciphertext, options.compatible ? fields : {});
}

/** Wraps a ciphertext the way WeChat does, signing it with the account's token. */
export function signedEnvelope(
  account: PushAccount,
  { timestamp, nonce }: { timestamp: string; nonce: string },
  ciphertext: string,
  plainFields: Record<string, string | number> = {},
): PushRequest {
  return {
    query: {
      signature: computeSignature([account.token, timestamp, nonce]),
      timestamp,
      nonce,
      encrypt_type: 'aes',
      msg_signature: computeSignature([account.token, timestamp, nonce, ciphertext]),
    },
    body: buildWechatXml({ ToUserName: 'gh_3a5d2f1c8e77', ...plainFields, Encrypt: ciphertext }),
  };
}

export async function deliverPush(webhookUrl: string, push: PushRequest): Promise<{ status: number; body: string; ms: number }> {
  const started = Date.now();
  const response = await fetch(`${webhookUrl}?${new URLSearchParams(push.query)}`, {
    method: 'POST',
    headers: { 'content-type': 'text/xml' },
    body: push.body,
  });
  return { status: response.status, body: await response.text(), ms: Date.now() - started };
}
