import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretBox } from './secret-box.js';

describe('secret box', () => {
  const box = new SecretBox(randomBytes(32));

  it('round-trips, and the envelope does not contain the secret', () => {
    const envelope = box.sealJson({ secret: 'wx-app-secret-9f8e7d' });
    expect(envelope).not.toContain('wx-app-secret');
    expect(box.openJson(envelope)).toEqual({ secret: 'wx-app-secret-9f8e7d' });
  });

  it('seals the same value differently each time', () => {
    expect(box.seal('x')).not.toBe(box.seal('x'));
  });

  it('refuses a tampered envelope and another key', () => {
    const envelope = box.seal('token');
    const parts = envelope.split('.');
    parts[3] = Buffer.from('tampered').toString('base64url');
    expect(() => box.open(parts.join('.'))).toThrow();
    expect(() => new SecretBox(randomBytes(32)).open(envelope)).toThrow();
  });
});
