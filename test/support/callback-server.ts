import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The status this server answered. */
  answered: number;
}

/**
 * A bank system's endpoint on loopback: records every request and answers with the statuses
 * the test scripts (the last one repeats).
 */
export async function startCallbackServer(statuses: number[] = [200], delayMs = 0) {
  const received: ReceivedRequest[] = [];
  let next = 0;
  let arrived = 0;
  const server = http.createServer((req, res) => {
    arrived++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = statuses[Math.min(next++, statuses.length - 1)]!;
      setTimeout(() => {
        received.push({ method: req.method!, path: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), answered: status });
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ status }));
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hub-callback`,
    received,
    /** Requests that reached the server, answered or not yet. */
    arrived: () => arrived,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
