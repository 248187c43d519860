import { createCipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  WechatCryptoError,
  computeSignature,
  decodeAesKey,
  decryptMessage,
  encryptMessage,
  signaturesEqual,
} from './wechat-crypto.js';

interface Vectors {
  encrypt: {
    token: string;
    encodingAESKey: string;
    appId: string;
    timestamp: string;
    nonce: string;
    random: string;
    plaintext: string;
    ciphertext: string;
    plainModeSignature: string;
  };
  verifyUrl: {
    token: string;
    encodingAESKey: string;
    appId: string;
    msg_signature: string;
    timestamp: string;
    nonce: string;
    echostr: string;
    expectedPlaintext: string;
  };
}

const vectors = JSON.parse(
  readFileSync(new URL('../../test/fixtures/wechat-vectors.json', import.meta.url), 'utf8'),
) as Vectors;

const APP_ID = 'wx0123456789abcdef';

function randomEncodingAesKey(): string {
  return randomBytes(32).toString('base64').slice(0, 43);
}

/** Encrypts an arbitrary, already padded plaintext so malformed layouts can be fed to decryptMessage. */
function rawEncrypt(key: Buffer, plain: Buffer): string {
  const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(plain), cipher.final()]).toString('base64');
}

function layout(message: string, appId: string, declaredLength = Buffer.byteLength(message)): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(declaredLength);
  return Buffer.concat([randomBytes(16), length, Buffer.from(message), Buffer.from(appId)]);
}

function padTo32(body: Buffer): Buffer {
  const pad = 32 - (body.length % 32);
  return Buffer.concat([body, Buffer.alloc(pad, pad)]);
}

function expectUniformFailure(run: () => unknown): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(WechatCryptoError);
  expect((caught as Error).message).toBe('decryption failed');
}

describe('official WXBizMsgCrypt vectors', () => {
  const v = vectors.encrypt;
  const key = decodeAesKey(v.encodingAESKey);

  it('encrypts with the given random to exactly the published ciphertext', () => {
    const ciphertext = encryptMessage({ aesKey: key, appId: v.appId, plaintext: v.plaintext, random: Buffer.from(v.random) });
    expect(ciphertext).toBe(v.ciphertext);
  });

  it('decrypts the published ciphertext', () => {
    expect(decryptMessage({ aesKeys: [key], appId: v.appId, ciphertext: v.ciphertext })).toBe(v.plaintext);
  });

  it('matches the plain-mode signature over token, timestamp and nonce', () => {
    expect(computeSignature([v.token, v.timestamp, v.nonce])).toBe(v.plainModeSignature);
  });

  it('verifies and decrypts the URL-verification echostr', () => {
    const u = vectors.verifyUrl;
    const signature = computeSignature([u.token, u.timestamp, u.nonce, u.echostr]);
    expect(signature).toBe(u.msg_signature);
    expect(signaturesEqual(signature, u.msg_signature)).toBe(true);
    const echo = decryptMessage({ aesKeys: [decodeAesKey(u.encodingAESKey)], appId: u.appId, ciphertext: u.echostr });
    expect(echo).toBe(u.expectedPlaintext);
  });
});

describe('computeSignature', () => {
  it('sorts the parts and leaves the input array untouched', () => {
    const parts = ['b', 'c', 'a'];
    expect(computeSignature(parts)).toBe(computeSignature(['a', 'b', 'c']));
    expect(parts).toEqual(['b', 'c', 'a']);
  });
});

describe('signaturesEqual', () => {
  it('compares equal and different signatures', () => {
    expect(signaturesEqual('abc123', 'abc123')).toBe(true);
    expect(signaturesEqual('abc123', 'abc124')).toBe(false);
  });

  it('returns false for different lengths without throwing', () => {
    expect(signaturesEqual('abc', 'abcd')).toBe(false);
    expect(signaturesEqual('', 'a')).toBe(false);
    // Same string length, different UTF-8 byte length.
    expect(signaturesEqual('é', 'e')).toBe(false);
  });
});

describe('decodeAesKey', () => {
  it('decodes a 43-character key to 32 bytes', () => {
    expect(decodeAesKey(vectors.encrypt.encodingAESKey)).toHaveLength(32);
  });

  it.each([
    ['too short', 'abc'],
    ['too long', `${vectors.encrypt.encodingAESKey}A`],
    ['already padded', `${vectors.encrypt.encodingAESKey.slice(0, 42)}=`],
    ['non-base64 characters', `${vectors.encrypt.encodingAESKey.slice(0, 42)}!`],
  ])('rejects a key that is %s', (_label, encodingAESKey) => {
    expect(() => decodeAesKey(encodingAESKey)).toThrow(WechatCryptoError);
  });
});

describe('encryptMessage / decryptMessage', () => {
  it.each(['', 'hello', '你好，世界 🌏', 'x'.repeat(5000)])('round-trips %#', (plaintext) => {
    const aesKey = decodeAesKey(randomEncodingAesKey());
    const ciphertext = encryptMessage({ aesKey, appId: APP_ID, plaintext });
    expect(Buffer.from(ciphertext, 'base64').length % 32).toBe(0);
    expect(decryptMessage({ aesKeys: [aesKey], appId: APP_ID, ciphertext })).toBe(plaintext);
  });

  it('uses a fresh random prefix for every message', () => {
    const aesKey = decodeAesKey(randomEncodingAesKey());
    const first = encryptMessage({ aesKey, appId: APP_ID, plaintext: 'same' });
    expect(encryptMessage({ aesKey, appId: APP_ID, plaintext: 'same' })).not.toBe(first);
  });

  it('rejects a random prefix that is not 16 bytes', () => {
    const aesKey = decodeAesKey(randomEncodingAesKey());
    expect(() => encryptMessage({ aesKey, appId: APP_ID, plaintext: 'x', random: randomBytes(15) })).toThrow(RangeError);
  });

  it('decrypts a message sealed with the previous key during rotation', () => {
    const current = decodeAesKey(randomEncodingAesKey());
    const previous = decodeAesKey(randomEncodingAesKey());
    const ciphertext = encryptMessage({ aesKey: previous, appId: APP_ID, plaintext: 'before rotation' });
    expect(decryptMessage({ aesKeys: [current, previous], appId: APP_ID, ciphertext })).toBe('before rotation');
    expectUniformFailure(() => decryptMessage({ aesKeys: [current], appId: APP_ID, ciphertext }));
  });

  it('fails uniformly when no key is configured', () => {
    expectUniformFailure(() => decryptMessage({ aesKeys: [], appId: APP_ID, ciphertext: vectors.encrypt.ciphertext }));
  });

  it('rejects a wrong appId', () => {
    const aesKey = decodeAesKey(randomEncodingAesKey());
    const ciphertext = encryptMessage({ aesKey, appId: APP_ID, plaintext: 'hi' });
    expectUniformFailure(() => decryptMessage({ aesKeys: [aesKey], appId: 'wxffffffffffffffff', ciphertext }));
    expectUniformFailure(() => decryptMessage({ aesKeys: [aesKey], appId: APP_ID.slice(0, -1), ciphertext }));
  });

  it.each([
    ['in the last block (padding)', -1],
    ['in the first block (length field)', 0],
  ])('rejects ciphertext tampered %s', (_label, index) => {
    const { encodingAESKey, appId, ciphertext } = vectors.encrypt;
    const bytes = Buffer.from(ciphertext, 'base64');
    const at = index < 0 ? bytes.length + index : index;
    bytes[at] = (bytes[at] ?? 0) ^ 0x01;
    expectUniformFailure(() =>
      decryptMessage({ aesKeys: [decodeAesKey(encodingAESKey)], appId, ciphertext: bytes.toString('base64') }),
    );
  });

  it.each([
    ['empty', ''],
    ['not base64', '!!!!not-base64!!!!'],
    ['base64 with junk characters', `${vectors.encrypt.ciphertext.slice(0, 10)}*${vectors.encrypt.ciphertext.slice(10)}`],
    ['not a multiple of 16 bytes', randomBytes(40).toString('base64')],
  ])('rejects ciphertext that is %s', (_label, ciphertext) => {
    const { encodingAESKey, appId } = vectors.encrypt;
    expectUniformFailure(() => decryptMessage({ aesKeys: [decodeAesKey(encodingAESKey)], appId, ciphertext }));
  });

  // Each case is built so that only the check under test stands between it and a successful decrypt.
  describe('malformed plaintext layouts', () => {
    const aesKey = decodeAesKey(randomEncodingAesKey());
    const decrypt = (plain: Buffer, appId = APP_ID) => () =>
      decryptMessage({ aesKeys: [aesKey], appId, ciphertext: rawEncrypt(aesKey, plain) });

    it('accepts the well-formed layout the malformed cases derive from', () => {
      expect(decrypt(padTo32(layout('ok', APP_ID)))()).toBe('ok');
    });

    it('rejects a pad byte of 0', () => {
      // 48 unpadded bytes ending in NUL: read as "no padding" it would be a valid message.
      const appId = `${APP_ID}\0`;
      expectUniformFailure(decrypt(layout('x'.repeat(9), appId), appId));
    });

    it('rejects a pad byte above 32', () => {
      // 47 bytes + 33 bytes of 33: a decoder honouring 33-byte padding would accept it.
      expectUniformFailure(decrypt(Buffer.concat([layout('x'.repeat(9), APP_ID), Buffer.alloc(33, 33)])));
    });

    it('rejects pad bytes that are not all equal', () => {
      const padded = padTo32(layout('x'.repeat(12), APP_ID)); // 50 bytes + 14 bytes of 14
      padded[padded.length - 5] = 13;
      expectUniformFailure(decrypt(padded));
    });

    it('rejects padding that leaves no room for the random prefix and length field', () => {
      expectUniformFailure(decrypt(Buffer.alloc(32, 32)));
    });

    it('rejects a length field exceeding the buffer', () => {
      expectUniformFailure(decrypt(padTo32(layout('short', APP_ID, 10_000))));
      // With an empty appId the (empty) tail would match, so only the length check can catch it.
      expectUniformFailure(decrypt(padTo32(layout('short', '', 10_000)), ''));
    });
  });
});
