import { z } from 'zod';

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected a time as HH:MM');

export const webchatChannelConfig = z.object({
  /** Title shown at the top of the chat panel. */
  title: z.string().trim().min(1).max(80).default('Chat with us'),
  /**
   * Origins allowed to embed the widget (`https://www.bank.example`), or `["*"]` for any page.
   * Required, so that opening a chat to every website is a decision rather than a default.
   */
  allowedOrigins: z
    .array(z.union([z.literal('*'), z.url({ protocol: /^https?$/ }).transform((u) => new URL(u).origin)]))
    .min(1, 'list the origins that may embed the widget, or ["*"] for any')
    .max(50),
  /** Signs identity tokens (HS256 JWT or HMAC of the user id). Needed to identify customers. */
  identitySecret: z.string().min(32, 'identitySecret must be at least 32 characters').optional(),
  /** Refuse anonymous visitors: only customers the host site identified may chat. */
  requireIdentity: z.boolean().default(false),
  maxAttachmentBytes: z.number().int().min(1024).max(25 * 1024 * 1024).default(5 * 1024 * 1024),
  attachmentTypes: z
    .array(z.string().regex(/^[a-z]+\/[a-z0-9.+-]+$/, 'expected a MIME type such as image/png'))
    .default(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'application/pdf']),
  /** Largest WebSocket frame a visitor may send; a bigger one closes the socket with 1009. */
  maxFrameBytes: z.number().int().min(1024).max(1024 * 1024).default(32 * 1024),
  messagesPerSecondPerVisitor: z.number().int().min(1).max(100).default(3),
  messagesPerSecondPerIp: z.number().int().min(1).max(1000).default(20),
  newConversationsPerMinutePerIp: z.number().int().min(1).max(1000).default(10),
  /**
   * When people answer the chat; outside these hours the widget shows the offline form instead.
   * Absent means always on duty.
   */
  serviceHours: z
    .object({
      timeZone: z.string().refine((tz) => {
        try {
          new Intl.DateTimeFormat('en', { timeZone: tz });
          return true;
        } catch {
          return false;
        }
      }, 'unknown time zone'),
      /** ISO weekdays, 1 = Monday. */
      days: z.array(z.number().int().min(1).max(7)).min(1).default([1, 2, 3, 4, 5]),
      open: hhmm,
      close: hhmm,
    })
    .optional(),
});
export type WebchatChannelConfig = z.infer<typeof webchatChannelConfig>;

export const webchatSecretFields = ['identitySecret'] as const;

/** Whether someone answers the chat at `now`, by the channel's service hours. */
export function isOnDuty(config: WebchatChannelConfig, now = new Date()): boolean {
  const hours = config.serviceHours;
  if (!hours) return true;
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', { timeZone: hours.timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(now)
      .map((p) => [p.type, p.value]),
  );
  const day = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(parts.weekday!) + 1;
  const time = `${parts.hour}:${parts.minute}`;
  return hours.days.includes(day) && time >= hours.open && time < hours.close;
}
