import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('configuration', () => {
  it('has working defaults: port 3000, embedded database, no private callbacks', () => {
    const config = loadConfig({});
    expect(config.PORT).toBe(3000);
    expect(config.embeddedDatabase).toBe(true);
    expect(config.OUTBOUND_ALLOW_PRIVATE).toBe(false);
    expect(config.REDIS_URL).toBeUndefined();
  });

  it('treats empty values as unset, as a .env file with `DATABASE_URL=` means', () => {
    expect(loadConfig({ DATABASE_URL: '' }).embeddedDatabase).toBe(true);
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ REDIS_URL: 'localhost:6379' }, 'REDIS_URL'],
    [{ ENCRYPTION_KEY: 'short' }, 'ENCRYPTION_KEY'],
    [{ ENCRYPTION_KEY: Buffer.alloc(32).toString('base64') }, 'ENCRYPTION_KEY'],
    [{ ENCRYPTION_KEY: Buffer.alloc(32, 'hub-secret').toString('base64') }, 'ENCRYPTION_KEY'],
    [{ ENCRYPTION_KEY: `${Buffer.alloc(32, 7).toString('base64')}!!` }, 'ENCRYPTION_KEY'],
    [{ PUBLIC_RATE_LIMIT_PER_MINUTE: '0' }, 'PUBLIC_RATE_LIMIT_PER_MINUTE'],
    [{ OUTBOUND_ALLOW_PRIVATE: 'maybe' }, 'OUTBOUND_ALLOW_PRIVATE'],
    [{ PUBLIC_BASE_URL: 'hub.example.com' }, 'PUBLIC_BASE_URL'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ SESSION_IDLE_MINUTES: '0' }, 'SESSION_IDLE_MINUTES'],
  ])('rejects %o with one line naming %s', (env, name) => {
    let error: unknown;
    try {
      loadConfig(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(new RegExp(`^invalid configuration: ${name}: `));
    expect(message).not.toContain('\n');
  });

  it('takes a random key, and names a weak one as weak', () => {
    const key = randomBytes(32).toString('base64');
    expect(loadConfig({ ENCRYPTION_KEY: key }).ENCRYPTION_KEY).toBe(key);
    expect(() => loadConfig({ ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64') })).toThrow(/ENCRYPTION_KEY: a weak key/);
  });

  it('parses booleans and numbers from their text', () => {
    const config = loadConfig({ OUTBOUND_ALLOW_PRIVATE: 'true', PORT: '8080', DATABASE_URL: 'postgres://u@h/db' });
    expect(config).toMatchObject({ OUTBOUND_ALLOW_PRIVATE: true, PORT: 8080, embeddedDatabase: false });
  });
});
