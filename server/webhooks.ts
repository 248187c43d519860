import type { Request, Response } from 'express';
import type { AcceptedEvent, InboundHttpRequest } from '../core/channels/contract.js';
import { recordInboundEvents } from '../core/inbound/inbound-events.js';
import { stripUnsafeCharacters, stripUnsafeJson } from '../core/validation.js';
import { enqueueOrLeaveToSweeper } from './enqueue.js';
import type { Runtime } from './runtime.js';

/**
 * The one webhook path every provider comes in by: the channel's adapter verifies the request,
 * the accepted events are committed, and only then is the provider answered, in its own dialect.
 */
export async function handleWebhook(runtime: Runtime, req: Request, res: Response): Promise<void> {
  const { type, channelId } = req.params as { type: string; channelId: string };
  const channel = await runtime.channels.get(channelId);
  if (!channel || channel.row.type !== type) {
    res.status(404).json({ error: `no ${type} channel ${channelId}`, code: 'not_found' });
    return;
  }
  if (!channel.row.enabled) {
    res.status(403).json({ error: `channel ${channelId} is disabled`, code: 'channel_disabled' });
    return;
  }
  const subpath = (req.params as { subpath?: string[] }).subpath;
  // The public base URL may carry a path prefix of a reverse proxy (https://bank.example/hub).
  const base = (channel.context.publicBaseUrl ?? `${req.protocol}://${req.get('host')}`).replace(/\/+$/, '');
  const request: InboundHttpRequest = {
    method: req.method,
    publicUrl: `${base}${req.originalUrl}`,
    subpath: subpath?.length ? `/${subpath.join('/')}` : '',
    headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v])),
    query: Object.fromEntries(Object.entries(req.query).filter((e): e is [string, string] => typeof e[1] === 'string')),
    rawBody: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
  };
  const result = await channel.adapter.verifyInbound(request, channel.context);
  if (result.ok) await acceptInboundEvents(runtime, channelId, result.events);
  res.status(result.reply.status).type(result.reply.contentType ?? 'text/plain').send(result.reply.body);
}

/**
 * Commits provider events and queues their processing; every way in (webhooks, the SMTP
 * listener, IMAP polling) goes through here before the provider is answered.
 */
export async function acceptInboundEvents(runtime: Runtime, channelId: string, events: AcceptedEvent[]): Promise<void> {
  if (!events.length) return;
  // A provider cannot be told to resend without a NUL (PostgreSQL stores none): the character is
  // dropped and the message kept. Channels whose sender can correct it (the API channel) refuse it.
  const storable = events.map((event) => ({ dedupeKey: stripUnsafeCharacters(event.dedupeKey), payload: stripUnsafeJson(event.payload) }));
  const recorded = await recordInboundEvents(runtime.database.db, channelId, storable);
  const fresh = recorded.filter((r) => !r.duplicate).map((r) => r.id);
  await enqueueOrLeaveToSweeper(runtime, () => runtime.queues.enqueueInbound(fresh));
}
