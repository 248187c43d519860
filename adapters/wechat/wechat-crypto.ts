/**
 * WeChat Official Account message crypto (the WXBizMsgCrypt scheme).
 *
 * AES-CBC here carries no integrity protection: a flipped ciphertext byte can
 * silently alter the decrypted message. Callers must verify msg_signature
 * (computeSignature + signaturesEqual) BEFORE calling decryptMessage; that check
 * is the real authenticator and what keeps decryption from acting as an oracle.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';

// WXBizMsgCrypt pads to 32-byte blocks even though the AES block size is 16.
const PAD_BLOCK_BYTES = 32;
const AES_BLOCK_BYTES = 16;
const RANDOM_BYTES = 16;
const HEADER_BYTES = RANDOM_BYTES + 4;

export class WechatCryptoError extends Error {
  override readonly name = 'WechatCryptoError';

  // Every decryption failure uses the default message so callers cannot tell
  // padding, length and appId failures apart (no padding oracle).
  constructor(message = 'decryption failed') {
    super(message);
  }
}

export function computeSignature(parts: readonly string[]): string {
  return createHash('sha1').update([...parts].sort().join('')).digest('hex');
}

export function signaturesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export function decodeAesKey(encodingAESKey: string): Buffer {
  // Buffer.from silently skips non-base64 characters, so validate the alphabet first;
  // 43 base64 characters always decode to exactly 32 bytes.
  if (!/^[A-Za-z0-9+/]{43}$/.test(encodingAESKey)) {
    throw new WechatCryptoError('EncodingAESKey must be 43 base64 characters (a 32-byte AES key)');
  }
  return Buffer.from(`${encodingAESKey}=`, 'base64');
}

export interface EncryptMessageInput {
  aesKey: Buffer;
  appId: string;
  plaintext: string;
  /** Only for reproducing test vectors; production must use the CSPRNG default. */
  random?: Buffer;
}

export function encryptMessage({ aesKey, appId, plaintext, random = randomBytes(RANDOM_BYTES) }: EncryptMessageInput): string {
  if (random.length !== RANDOM_BYTES) throw new RangeError(`random must be ${RANDOM_BYTES} bytes`);
  const message = Buffer.from(plaintext, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(message.length);
  const body = Buffer.concat([random, length, message, Buffer.from(appId, 'utf8')]);
  const pad = PAD_BLOCK_BYTES - (body.length % PAD_BLOCK_BYTES);

  const cipher = createCipheriv('aes-256-cbc', aesKey, aesKey.subarray(0, AES_BLOCK_BYTES));
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(Buffer.concat([body, Buffer.alloc(pad, pad)])), cipher.final()]).toString('base64');
}

export interface DecryptMessageInput {
  /** Current key first, then the previous one while a key rotation is in progress. */
  aesKeys: readonly Buffer[];
  appId: string;
  ciphertext: string;
}

export function decryptMessage({ aesKeys, appId, ciphertext }: DecryptMessageInput): string {
  const data = Buffer.from(ciphertext, 'base64');
  // Buffer.from tolerates junk characters; re-encoding rejects anything that is not canonical base64.
  if (data.length === 0 || data.length % AES_BLOCK_BYTES !== 0 || data.toString('base64') !== ciphertext) {
    throw new WechatCryptoError();
  }
  const expectedAppId = Buffer.from(appId, 'utf8');
  for (const key of aesKeys) {
    const message = tryDecrypt(key, data, expectedAppId);
    if (message !== undefined) return message;
  }
  throw new WechatCryptoError();
}

function tryDecrypt(key: Buffer, data: Buffer, expectedAppId: Buffer): string | undefined {
  // A key of the wrong length throws RangeError here on purpose: that is misconfiguration, not bad input.
  const decipher = createDecipheriv('aes-256-cbc', key, key.subarray(0, AES_BLOCK_BYTES));
  decipher.setAutoPadding(false);
  const plain = Buffer.concat([decipher.update(data), decipher.final()]);

  const pad = plain[plain.length - 1] ?? 0;
  if (pad < 1 || pad > PAD_BLOCK_BYTES || plain.length - pad < HEADER_BYTES) return undefined;
  if (!plain.subarray(plain.length - pad).every((byte) => byte === pad)) return undefined;

  const body = plain.subarray(0, plain.length - pad);
  const messageEnd = HEADER_BYTES + body.readUInt32BE(RANDOM_BYTES);
  if (messageEnd > body.length) return undefined;
  if (!body.subarray(messageEnd).equals(expectedAppId)) return undefined;
  return body.subarray(HEADER_BYTES, messageEnd).toString('utf8');
}
