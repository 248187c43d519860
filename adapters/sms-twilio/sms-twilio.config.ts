import { z } from 'zod';

const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });

export const smsTwilioConfig = z
  .object({
    accountSid: z.string().regex(/^AC[0-9a-fA-F]{32}$/, 'expected an Account SID: AC followed by 32 hex digits'),
    /** Signs Twilio's webhooks and authenticates the hub's API calls. */
    authToken: z.string().min(16, 'expected the auth token of the account (Twilio console, Account info)'),
    /** A Twilio number in E.164 form, or an alphanumeric sender ID where the destination allows one. */
    from: z
      .string()
      .regex(/^\+[1-9]\d{6,14}$|^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$/, 'expected a number in E.164 form (+14155550100) or a sender ID of up to 11 letters and digits')
      // null clears it in an update, to switch to a Messaging Service.
      .nullish(),
    /** Sends through a Messaging Service (its number pool, opt-out handling) instead of one number. */
    messagingServiceSid: z.string().regex(/^MG[0-9a-fA-F]{32}$/, 'expected a Messaging Service SID: MG followed by 32 hex digits').nullish(),
    /**
     * The address Twilio reaches this channel at when it differs from the hub's PUBLIC_BASE_URL
     * (another proxy, scheme or port): webhook signatures are checked against it, and delivery
     * receipts are requested at it.
     */
    publicBaseUrl: httpUrl.optional(),
    /** Twilio's REST API; a private deployment or a test points it elsewhere. */
    apiBaseUrl: httpUrl.default('https://api.twilio.com'),
    /** The answer to a customer who sends HELP; without it, HELP is stored like any message. */
    helpText: z.string().trim().min(1).max(1600).optional(),
  })
  .refine((c) => (c.from == null) !== (c.messagingServiceSid == null), {
    message: 'set exactly one of from and messagingServiceSid',
    path: ['from'],
  });
export type SmsTwilioConfig = z.infer<typeof smsTwilioConfig>;

export const smsTwilioSecretFields = ['authToken'] as const;
