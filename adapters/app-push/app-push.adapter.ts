import { z } from 'zod';
import { maskSensitiveText } from '../../core/security/masking.js';
import type {
  AcceptedEvent,
  ChannelAdapter,
  ChannelContext,
  OutboundMessage,
  PushDevice,
  SendResult,
} from '../../core/channels/contract.js';
import { PermanentEventError } from '../../core/channels/contract.js';
import type { PushPlatform } from '../../core/db/schema.js';
import { primaryLanguage } from '../../core/routing/agent-profiles.js';
import { describeZodError, parseInput } from '../../core/validation.js';
import { sendApns } from './apns-client.js';
import { apnsSettings, appChannelConfig, appSecretFields, fcmSettings, type AppChannelConfig } from './app-push.config.js';
import { sendFcm } from './fcm-client.js';
import type { PushNotification, PushOutcome } from './push-outcome.js';

export const appMessageInput = z.object({
  /** Chosen by the app for each message; resending it (after a lost answer) stores it once. */
  clientMessageId: z.string().trim().min(1).max(200),
  text: z.string().trim().min(1, 'text must not be empty').max(20_000),
});

const storedMessage = z.object({ appUserId: z.string().min(1), clientMessageId: z.string().min(1), text: z.string().min(1) });

/** A message the app sent, as an inbound event; the dedupe key is the app's own message id. */
export function appMessageEvent(appUserId: string, input: unknown): AcceptedEvent {
  const message = parseInput(appMessageInput, input);
  return {
    dedupeKey: `msg:${appUserId}:${message.clientMessageId}`,
    payload: { appUserId, clientMessageId: message.clientMessageId, text: message.text },
  };
}

export function supportedPlatforms(config: AppChannelConfig): PushPlatform[] {
  return [...(fcmSettings(config) ? (['fcm'] as const) : []), ...(apnsSettings(config) ? (['apns'] as const) : [])];
}

const json = (status: number, body: unknown) => ({ status, contentType: 'application/json', body: JSON.stringify(body) });

/**
 * The bank's mobile app. The app talks to the hub's app API (not to a webhook): its messages
 * enter the inbound pipeline, and outbound messages are stored for the app to
 * fetch and announced by a push notification to each of the app user's active devices.
 */
export const appPushAdapter: ChannelAdapter<AppChannelConfig> = {
  type: 'app',
  displayName: 'Mobile app (FCM / APNs push)',
  configSchema: appChannelConfig,
  secretFields: appSecretFields,
  reachableKinds: ['app_user'],
  outboundTargets: (config) => [
    { field: 'fcmTokenUri', target: config.fcmTokenUri },
    { field: 'fcmBaseUrl', target: config.fcmBaseUrl },
    { field: 'apnsHost', target: config.apnsHost },
  ],

  async verifyInbound(_request, channel) {
    return { ok: false, reply: json(404, { error: `app channels take requests at /api/app/v1/channels/${channel.id}/...` }) };
  },

  async normalize(payload) {
    const parsed = storedMessage.safeParse(payload);
    if (!parsed.success) throw new PermanentEventError(`not an app message: ${describeZodError(parsed.error)}`);
    const event = parsed.data;
    return {
      type: 'message',
      sender: { kind: 'app_user', value: event.appUserId, verified: true },
      content: { kind: 'text', text: event.text },
      providerMessageId: event.clientMessageId,
    };
  },

  async send(message, channel): Promise<SendResult> {
    if (!channel.devices) return { outcome: 'permanent', code: 'no_device_directory', message: 'the hub loaded this channel without its devices' };
    // Stored for the app's history all the same; the channel chose not to ring the phone for it.
    if (!channel.config.pushQueueNotices && message.payload.queueNotice) return { outcome: 'sent', providerMessageId: message.id };
    const devices = await channel.devices.activeFor(message.recipient);
    // A retry after some devices failed must not notify the others twice.
    const pushedKey = `pushed:${message.id}`;
    const pushed = new Set<string>(JSON.parse((await channel.store.get(pushedKey)) ?? '[]') as string[]);
    const pending = devices.filter((device) => !pushed.has(device.id));
    // The devices of one recipient belong to one contact, so they share its language.
    const outcomes = await pushToDevices(pending, notificationFor(message, channel, pending[0]?.language ?? null), channel);

    const failures: Extract<PushOutcome, { result: 'retryable' | 'permanent' }>[] = [];
    for (const [index, outcome] of outcomes.entries()) {
      const device = pending[index]!;
      if (outcome.result === 'pushed') pushed.add(device.id);
      else if (outcome.result === 'invalid-token') await channel.devices.deactivate(device.id, outcome.code);
      else failures.push(outcome);
    }
    if (pending.length) await channel.store.set(pushedKey, JSON.stringify([...pushed]), 86_400_000);

    const retryable = failures.filter((f) => f.result === 'retryable');
    if (retryable.length) {
      const waits = retryable.map((f) => f.retryAfterMs).filter((ms): ms is number => ms !== undefined);
      return {
        outcome: 'retryable',
        code: retryable[0]!.code,
        message: `${retryable.length} of ${devices.length} devices not reached: ${retryable[0]!.message}`,
        ...(waits.length ? { retryAfterMs: Math.max(...waits) } : {}),
      };
    }
    // The message is stored for the app whatever the push did; it only fails when the channel
    // could reach none of the user's devices because of its own setup (credentials, topic).
    const permanent = failures[0];
    if (permanent && pushed.size === 0) return { outcome: 'permanent', code: permanent.code, message: permanent.message };
    return { outcome: 'sent', providerMessageId: message.id };
  },
};

/** The default notification text by language: `en` for contacts whose language starts with en, `zh` for everyone else. */
export const defaultNotificationBodies = { zh: '您有一条新消息', en: 'You have a new message' } as const;

function notificationFor(message: OutboundMessage, channel: ChannelContext<AppChannelConfig>, language: string | null): PushNotification {
  const { config } = channel;
  // A lock screen is seen by anyone near the phone: card, ID numbers, phones and emails masked.
  const preview = config.showPreview && message.text ? truncate(maskSensitiveText(message.text), 180) : undefined;
  const defaultBody = primaryLanguage(language) === 'en' ? defaultNotificationBodies.en : defaultNotificationBodies.zh;
  return {
    messageId: message.id,
    title: config.notificationTitle ?? channel.name,
    body: preview ?? config.notificationBody ?? defaultBody,
    data: { messageId: message.id, conversationId: message.conversationId },
  };
}

function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : text;
}

/** Pushes to each device on its platform; the outcomes line up with the devices. */
function pushToDevices(devices: PushDevice[], notification: PushNotification, channel: ChannelContext<AppChannelConfig>): Promise<PushOutcome[]> {
  const fcm = fcmSettings(channel.config);
  const apns = apnsSettings(channel.config);
  const notConfigured = (platform: string): PushOutcome => ({
    result: 'permanent',
    code: `${platform}_not_configured`,
    message: `the channel has no ${platform.toUpperCase()} credentials`,
  });
  return Promise.all(
    devices.map((device) => {
      if (device.platform === 'fcm') return fcm ? sendFcm(fcm, channel, device.token, notification) : notConfigured('fcm');
      return apns ? sendApns(apns, channel, device.token, notification) : notConfigured('apns');
    }),
  );
}
