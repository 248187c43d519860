import type { UserRole } from '../db/schema.js';
import { maskSensitiveText, type MaskingOptions } from './masking.js';

/** Who sees what of a message's text: the deployment's settings (MASK_* in core/config.ts). */
export interface MaskingPolicy {
  /** Roles that see phone numbers and emails masked too. */
  contactDetailsRoles: readonly UserRole[];
  /** Roles that may ask for the original text of a masked message (audited). */
  revealRoles: readonly UserRole[];
}

export interface MessageViewer {
  role: UserRole;
  policy: MaskingPolicy;
}

export function maskingOptionsFor(viewer: MessageViewer): MaskingOptions {
  const contactDetails = viewer.policy.contactDetailsRoles.includes(viewer.role);
  return { phones: contactDetails, emails: contactDetails };
}

export function mayReveal(viewer: MessageViewer): boolean {
  return viewer.policy.revealRoles.includes(viewer.role);
}

/**
 * A message (or a preview of one) as a user may see it: sensitive values in its text masked,
 * `masked` saying whether anything was, `revealable` whether this user may ask for the original.
 * The one serializer every answer carrying message text goes through.
 */
export function presentMessage<T extends { text: string | null }>(message: T, viewer: MessageViewer): T & { masked: boolean; revealable: boolean } {
  if (!message.text) return { ...message, masked: false, revealable: false };
  const text = maskSensitiveText(message.text, maskingOptionsFor(viewer));
  const masked = text !== message.text;
  return { ...message, text, masked, revealable: masked && mayReveal(viewer) };
}
