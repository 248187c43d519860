import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { type Express, type Request, type Response } from 'express';
import { consoleDist } from './console-build.js';

/**
 * The console runs only the hub's own scripts and talks only to the hub; antd writes its styles
 * at run time, hence inline styles. Nothing may frame it (clickjacking an agent's reply box).
 * Every HTML page the hub serves (the unsubscribe page too) goes out with these headers.
 */
const consolePolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export function setPageHeaders(res: Response) {
  res.set({
    'content-security-policy': consolePolicy,
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'same-origin',
    // A new deployment's page must reach the browser at once; the hashed assets it names are cached.
    'cache-control': 'no-cache',
  });
}

const notBuiltPage = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Hub</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto">
<h1>Hub</h1><p>The hub is running, but its console is not built. Run <code>npm install</code> (with dev dependencies),
or <code>npm run build:admin</code>, then reload.</p><p><a href="/api/openapi.json">API description</a></p></body></html>`;

/**
 * Serves the built console at `/`: hashed assets with a long cache, and the single page for
 * every other GET that asks for HTML, so a bookmarked `/workspace/<id>` opens that screen.
 */
export function mountConsole(app: Express) {
  const assets = join(consoleDist, 'assets');
  app.use('/assets', express.static(assets, { immutable: true, maxAge: '365d', index: false, fallthrough: false }));
  app.get('/favicon.svg', (_req, res) => {
    res.sendFile(join(consoleDist, 'favicon.svg'), { maxAge: '1d' });
  });
  app.get('/{*path}', (req: Request, res: Response, next) => {
    const wantsPage = req.path === '/' || (req.get('accept') ?? '').includes('text/html');
    if (!wantsPage || req.path.startsWith('/api/')) return next();
    setPageHeaders(res);
    const page = join(consoleDist, 'index.html');
    if (!existsSync(page)) {
      res.status(200).type('html').send(notBuiltPage);
      return;
    }
    res.sendFile(page);
  });
}
