import { z } from 'zod';

const pem = (label: string) =>
  z.string().refine((value) => value.includes(`-----BEGIN ${label}-----`), `expected a PEM block "-----BEGIN ${label}-----"`);
const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });

export const appChannelConfig = z
  .object({
    /**
     * How the bank's backend signs app-user tokens: HS256 with `tokenSecret`, or RS256/ES256
     * with the private key whose public half is `tokenPublicKey`.
     */
    tokenAlgorithm: z.enum(['HS256', 'RS256', 'ES256']),
    tokenSecret: z.string().min(32, 'tokenSecret must be at least 32 characters').optional(),
    tokenPublicKey: pem('PUBLIC KEY').optional(),
    /** When set, tokens must carry exactly this `iss` / `aud`. */
    tokenIssuer: z.string().min(1).optional(),
    tokenAudience: z.string().min(1).optional(),

    /** The notification title; the channel's name when absent. */
    notificationTitle: z.string().min(1).max(100).optional(),
    /**
     * The notification text for every customer. When absent it is in the customer's language:
     * "You have a new message" for contacts whose language starts with en, 您有一条新消息 for
     * everyone else (as the queue notices choose).
     */
    notificationBody: z.string().min(1).max(200).optional(),
    /**
     * Puts the message text in the notification. Off by default: a lock screen is not a place
     * for account details, and the app fetches the message over its authenticated API anyway.
     */
    showPreview: z.boolean().default(false),
    /**
     * Whether the automatic queue-position notices (routing tells a waiting customer their place)
     * are pushed. Off, they are still stored for the app's history, but the phone stays quiet.
     */
    pushQueueNotices: z.boolean().default(true),

    /** FCM (Android, and iOS apps that use FCM): the Firebase service account. */
    fcmProjectId: z.string().min(1).optional(),
    fcmClientEmail: z.email().optional(),
    fcmPrivateKey: pem('PRIVATE KEY').optional(),
    fcmTokenUri: httpUrl.default('https://oauth2.googleapis.com/token'),
    fcmBaseUrl: httpUrl.default('https://fcm.googleapis.com'),

    /** APNs token-based authentication: the .p8 signing key, its key id and the team id. */
    apnsKey: pem('PRIVATE KEY').optional(),
    apnsKeyId: z.string().min(1).optional(),
    apnsTeamId: z.string().min(1).optional(),
    /** The app's bundle id. */
    apnsTopic: z.string().min(1).optional(),
    /** api.sandbox.push.apple.com for development builds of the app. */
    apnsHost: z.string().min(1).default('api.push.apple.com'),
    apnsPort: z.number().int().min(1).max(65_535).default(443),
    /** A CA certificate to trust for the APNs host besides the system ones (a private gateway). */
    apnsCa: pem('CERTIFICATE').optional(),
  })
  .superRefine((config, ctx) => {
    if (config.tokenAlgorithm === 'HS256' && !config.tokenSecret) {
      ctx.addIssue({ code: 'custom', path: ['tokenSecret'], message: 'required with tokenAlgorithm HS256' });
    }
    if (config.tokenAlgorithm !== 'HS256' && !config.tokenPublicKey) {
      ctx.addIssue({ code: 'custom', path: ['tokenPublicKey'], message: `required with tokenAlgorithm ${config.tokenAlgorithm}` });
    }
    requireTogether(ctx, config, ['fcmProjectId', 'fcmClientEmail', 'fcmPrivateKey']);
    requireTogether(ctx, config, ['apnsKey', 'apnsKeyId', 'apnsTeamId', 'apnsTopic']);
  });
export type AppChannelConfig = z.infer<typeof appChannelConfig>;

export const appSecretFields = ['tokenSecret', 'fcmPrivateKey', 'apnsKey'] as const;

/** A push provider is configured with all of its credentials or none of them. */
function requireTogether(ctx: z.RefinementCtx, config: Record<string, unknown>, fields: string[]) {
  const given = fields.filter((field) => config[field] !== undefined);
  if (given.length === 0 || given.length === fields.length) return;
  for (const field of fields.filter((f) => config[f] === undefined)) {
    ctx.addIssue({ code: 'custom', path: [field], message: `required together with ${given.join(', ')}` });
  }
}

export interface FcmSettings {
  projectId: string;
  clientEmail: string;
  privateKey: string;
  tokenUri: string;
  baseUrl: string;
}

export interface ApnsSettings {
  key: string;
  keyId: string;
  teamId: string;
  topic: string;
  host: string;
  port: number;
  ca: string | undefined;
}

export function fcmSettings(config: AppChannelConfig): FcmSettings | undefined {
  if (!config.fcmProjectId || !config.fcmClientEmail || !config.fcmPrivateKey) return undefined;
  return {
    projectId: config.fcmProjectId,
    clientEmail: config.fcmClientEmail,
    privateKey: config.fcmPrivateKey,
    tokenUri: config.fcmTokenUri,
    baseUrl: config.fcmBaseUrl.replace(/\/+$/, ''),
  };
}

export function apnsSettings(config: AppChannelConfig): ApnsSettings | undefined {
  if (!config.apnsKey || !config.apnsKeyId || !config.apnsTeamId || !config.apnsTopic) return undefined;
  return {
    key: config.apnsKey,
    keyId: config.apnsKeyId,
    teamId: config.apnsTeamId,
    topic: config.apnsTopic,
    host: config.apnsHost,
    port: config.apnsPort,
    ca: config.apnsCa,
  };
}
