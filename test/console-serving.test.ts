import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from './support/test-hub.js';

let hub: TestHub;

beforeAll(async () => {
  hub = await startTestHub({ workers: false });
});
afterAll(async () => {
  await hub?.close();
});

describe('the console as the hub serves it', () => {
  it('serves the built page at / with a content security policy that forbids framing', async () => {
    const response = await fetch(`${hub.baseUrl}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
    const html = await response.text();
    expect(html).toContain('<div id="root"></div>');
    // The built page names its hashed bundle, not the source entry.
    expect(html).not.toContain('/src/main.tsx');
    const script = /<script type="module" crossorigin src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const policy = response.headers.get('content-security-policy') ?? '';
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("frame-ancestors 'none'");
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('cache-control')).toBe('no-cache');

    const asset = await fetch(`${hub.baseUrl}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toMatch(/immutable/);
  });

  it('opens a bookmarked screen of the console, while API paths and unknown assets stay JSON and 404', async () => {
    const page = await fetch(`${hub.baseUrl}/workspace/5c0a7d1e-0000-4000-8000-000000000000`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="root"></div>');

    const api = await fetch(`${hub.baseUrl}/api/v1/nothing-here`, { headers: { accept: 'text/html' } });
    expect(api.status).toBe(401);
    expect(api.headers.get('content-type')).toMatch(/json/);

    const missing = await fetch(`${hub.baseUrl}/assets/missing-abc123.js`);
    expect(missing.status).toBe(404);

    const icon = await fetch(`${hub.baseUrl}/favicon.svg`);
    expect(icon.status).toBe(200);
    expect(icon.headers.get('content-type')).toMatch(/svg/);
  });
});
