import { z } from 'zod';

const port = z.number().int().min(1).max(65535);

/**
 * An email channel: one mailbox address customers write to. Fields are flat because secret
 * fields are sealed by top-level name.
 */
export const emailChannelConfig = z
  .object({
    /** The address customers write to; the SMTP listener routes mail for it (and its +tags) here. */
    address: z.email({ error: 'address must be an email address' }).transform((a) => a.toLowerCase()),
    /** Display name on outbound mail, e.g. "Example Bank Customer Care". */
    fromName: z.string().trim().max(200).optional(),
    /** Authenticates `POST /webhooks/email/:channelId` (Bearer) and signs reply and unsubscribe tokens. */
    webhookSecret: z.string().min(16, 'webhookSecret must be at least 16 characters'),

    /** Outbound SMTP relay. Without it the channel only receives. */
    smtpHost: z.string().trim().min(1).optional(),
    smtpPort: port.default(587),
    /** Implicit TLS (port 465); otherwise STARTTLS is used when the server offers it. */
    smtpSecure: z.boolean().default(false),
    /** Refuse to send over a connection that could not be upgraded to TLS. */
    smtpRequireTls: z.boolean().default(false),
    smtpUser: z.string().min(1).optional(),
    smtpPassword: z.string().min(1).optional(),

    /** DKIM signing of outbound mail; all three or none. */
    dkimDomain: z.string().trim().min(1).optional(),
    dkimSelector: z.string().trim().min(1).optional(),
    dkimPrivateKey: z.string().min(1).optional(),

    /** A mailbox polled over IMAP. Without imapHost the channel is not polled. */
    imapHost: z.string().trim().min(1).optional(),
    imapPort: port.default(993),
    imapSecure: z.boolean().default(true),
    imapUser: z.string().min(1).optional(),
    imapPassword: z.string().min(1).optional(),
    imapMailbox: z.string().min(1).default('INBOX'),
    /** Imported mail is flagged \Seen, or moved to `imapMoveTo` so the mailbox stays small. */
    imapAfterImport: z.enum(['seen', 'move']).default('seen'),
    imapMoveTo: z.string().min(1).optional(),
    imapPollIntervalMs: z.number().int().min(1_000).default(60_000),
  })
  .refine((c) => !c.imapHost || (c.imapUser && c.imapPassword), { message: 'imapUser and imapPassword are required with imapHost', path: ['imapUser'] })
  .refine((c) => c.imapAfterImport !== 'move' || c.imapMoveTo, { message: 'imapMoveTo is required when imapAfterImport is move', path: ['imapMoveTo'] })
  .refine((c) => [c.dkimDomain, c.dkimSelector, c.dkimPrivateKey].filter(Boolean).length % 3 === 0, {
    message: 'DKIM needs dkimDomain, dkimSelector and dkimPrivateKey together',
    path: ['dkimPrivateKey'],
  });
export type EmailChannelConfig = z.infer<typeof emailChannelConfig>;

export const emailSecretFields = ['webhookSecret', 'smtpPassword', 'dkimPrivateKey', 'imapPassword'] as const;
