import express, { type Request } from 'express';
import { appMessageEvent, supportedPlatforms } from '../adapters/app-push/app-push.adapter.js';
import type { AppChannelConfig } from '../adapters/app-push/app-push.config.js';
import { AppTokenError, verifyAppUserToken } from '../adapters/app-push/app-token.js';
import { listAppUserMessages, markMessagesRead } from '../core/app-users/app-user-messages.js';
import { registerDevice, registerDeviceInput, unregisterDevice, type AppUserRef } from '../core/app-users/devices.js';
import { HubError } from '../core/errors.js';
import { recordInboundEvents } from '../core/inbound/inbound-events.js';
import { parseInput } from '../core/validation.js';
import { enqueueOrLeaveToSweeper } from './enqueue.js';
import { rejectUnsafeInput } from './input-guard.js';
import type { Runtime } from './runtime.js';

/**
 * The API the bank's mobile app calls, authenticated per request by an app-user token (a JWT
 * the bank's backend signs with the channel's key). A message is stored as an inbound event
 * before the app gets its answer, like a provider's webhook, and then follows the same pipeline.
 */
export function createAppApi(runtime: Runtime): express.Router {
  const router = express.Router();
  router.use(express.json({ limit: runtime.config.BODY_LIMIT_BYTES }), rejectUnsafeInput);

  router.post('/channels/:channelId/devices', async (req, res) => {
    const { user, config } = await authenticate(runtime, req);
    const input = parseInput(registerDeviceInput, req.body ?? {});
    if (!supportedPlatforms(config).includes(input.platform)) {
      throw new HubError(400, 'bad_request', `this channel has no ${input.platform.toUpperCase()} credentials; register the device on a platform it pushes to`);
    }
    res.status(200).json(await registerDevice(runtime.database.db, user, input));
  });

  router.delete('/channels/:channelId/devices/:deviceId', async (req, res) => {
    const { user } = await authenticate(runtime, req);
    res.status(200).json(await unregisterDevice(runtime.database.db, user, req.params.deviceId!));
  });

  router.post('/channels/:channelId/messages', async (req, res) => {
    const { user } = await authenticate(runtime, req);
    const event = appMessageEvent(user.appUserId, req.body ?? {});
    const [recorded] = await recordInboundEvents(runtime.database.db, user.channelId, [event]);
    if (!recorded!.duplicate) await enqueueOrLeaveToSweeper(runtime, () => runtime.queues.enqueueInbound([recorded!.id]));
    const clientMessageId = (event.payload as { clientMessageId: string }).clientMessageId;
    res.status(202).json({ accepted: true, clientMessageId, duplicate: recorded!.duplicate });
  });

  router.get('/channels/:channelId/messages', async (req, res) => {
    const { user } = await authenticate(runtime, req);
    res.status(200).json(await listAppUserMessages(runtime.database.db, user, req.query));
  });

  router.post('/channels/:channelId/messages/read', async (req, res) => {
    const { user } = await authenticate(runtime, req);
    const events = await markMessagesRead(runtime.database.db, user, req.body ?? {});
    await enqueueOrLeaveToSweeper(runtime, () => runtime.events.publish(events));
    res.status(200).json({ read: events.map((e) => e.messageId) });
  });

  return router;
}

async function authenticate(runtime: Runtime, req: Request): Promise<{ user: AppUserRef; config: AppChannelConfig }> {
  const { channelId } = req.params as { channelId: string };
  const channel = await runtime.channels.get(channelId);
  if (!channel || channel.row.type !== 'app') throw new HubError(404, 'not_found', `no app channel ${channelId}`);
  if (!channel.row.enabled) throw new HubError(403, 'channel_disabled', `channel ${channelId} is disabled`);
  const match = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '');
  if (!match) throw new HubError(401, 'unauthorized', 'send Authorization: Bearer <app-user token signed by the bank backend>');
  const config = channel.context.config as AppChannelConfig;
  try {
    const appUserId = await verifyAppUserToken(config, match[1]!);
    return { user: { channelId, appUserId }, config };
  } catch (error) {
    if (error instanceof AppTokenError) throw new HubError(401, 'unauthorized', error.message);
    throw error;
  }
}
