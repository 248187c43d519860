import { startSmtpListener } from '../adapters/email/smtp-listener.js';
import type { Runtime } from './runtime.js';
import { acceptInboundEvents } from './webhooks.js';

/** Runs the SMTP listener of email channels on the runtime, feeding the common inbound path. */
export function startSmtpIntake(runtime: Runtime, listen: { port: number; host: string }) {
  return startSmtpListener(
    {
      db: runtime.database.db,
      logger: runtime.logger,
      maxBytes: runtime.config.SMTP_MAX_BYTES,
      accept: (channelId, events) => acceptInboundEvents(runtime, channelId, events),
    },
    listen,
  );
}
