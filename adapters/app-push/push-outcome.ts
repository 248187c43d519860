/** What the app shows for one outbound message; `data` lets it open the right conversation. */
export interface PushNotification {
  /** The hub's message id: APNs echoes it as apns-id, and the app fetches the message by it. */
  messageId: string;
  title: string;
  body: string;
  data: Record<string, string>;
}

/** One device's answer from its push provider. */
export type PushOutcome =
  | { result: 'pushed'; providerId: string | undefined }
  /** The token no longer reaches an install: the device is deactivated. */
  | { result: 'invalid-token'; code: string }
  | { result: 'retryable'; code: string; message: string; retryAfterMs?: number }
  | { result: 'permanent'; code: string; message: string };

/** Retry-After in seconds (the form FCM and APNs gateways use), as milliseconds. */
export function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const seconds = Number(Array.isArray(header) ? header[0] : header);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined;
}
