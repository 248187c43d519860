import { z } from 'zod';

export const apiChannelConfig = z.object({
  /** Where the hub POSTs outbound messages for the bank's system to deliver. */
  callbackUrl: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }),
  /** Shared secret for X-Hub-Signature-256 in both directions. */
  secret: z.string().min(16, 'secret must be at least 16 characters'),
});
export type ApiChannelConfig = z.infer<typeof apiChannelConfig>;

export const apiSecretFields = ['secret'] as const;
