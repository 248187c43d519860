import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPrivateAddress, OutboundHttpError, resolveOutboundHost, sendOutboundHttp } from './outbound-http.js';

let server: http.Server;
let port: number;
let hits = 0;
beforeAll(async () => {
  server = http.createServer((_req, res) => {
    hits++;
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('outbound HTTP guard', () => {
  it.each(['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '::1', 'fd00::1', '::ffff:127.0.0.1', '0.0.0.0'])(
    '%s is private',
    (address) => expect(isPrivateAddress(address)).toBe(true),
  );

  it.each(['8.8.8.8', '203.0.113.9', '2001:4860:4860::8888'])('%s is public', (address) => {
    expect(isPrivateAddress(address)).toBe(false);
  });

  it('refuses loopback by IP and by a name resolving to it, without connecting', async () => {
    const before = hits;
    for (const url of [`http://127.0.0.1:${port}/`, `http://localhost:${port}/`]) {
      const error = await sendOutboundHttp({ url, timeoutMs: 1_000, allowPrivate: false }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OutboundHttpError);
      expect((error as OutboundHttpError).kind).toBe('blocked');
    }
    expect(hits).toBe(before);
  });

  it('reaches loopback when private targets are allowed', async () => {
    const response = await sendOutboundHttp({ url: `http://localhost:${port}/`, method: 'GET', timeoutMs: 1_000, allowPrivate: true });
    expect(response.status).toBe(200);
    expect(response.body.toString()).toBe('ok');
  });

  it('refuses schemes other than http and https', async () => {
    const error = await sendOutboundHttp({ url: 'file:///etc/passwd', timeoutMs: 1_000, allowPrivate: true }).catch((e: unknown) => e);
    expect((error as OutboundHttpError).kind).toBe('blocked');
  });

  it('resolves raw hosts (SMTP, IMAP) through the same rules, handing back the address to connect to', async () => {
    for (const host of ['localhost', '127.0.0.1', '::1', '[::1]', '10.0.0.7', 'http://169.254.169.254/latest']) {
      const error = await resolveOutboundHost(host, { allowPrivate: false }).catch((e: unknown) => e);
      expect(error, host).toBeInstanceOf(OutboundHttpError);
      expect((error as OutboundHttpError).kind).toBe('blocked');
    }
    expect(await resolveOutboundHost('localhost', { allowPrivate: true })).toMatchObject({ address: expect.stringMatching(/^(127\.0\.0\.1|::1)$/) });
    expect(await resolveOutboundHost('203.0.113.9', { allowPrivate: false })).toEqual({ address: '203.0.113.9', family: 4 });
    const unknown = await resolveOutboundHost('no-such-host.invalid', { allowPrivate: false }).catch((e: unknown) => e);
    expect((unknown as OutboundHttpError).kind).toBe('unreachable');
  });
});
