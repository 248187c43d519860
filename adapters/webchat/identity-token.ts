import { errors as joseErrors, jwtVerify } from 'jose';
import { z } from 'zod';
import type { SenderIdentity } from '../../core/channels/contract.js';
import { IdentityValueError, normalizeIdentityValue } from '../../core/contacts/identity.js';
import { constantTimeEqual, hmacSha256Hex } from '../../core/security/signatures.js';
import type { WebchatChannelConfig } from './webchat.config.js';

/** What the host page passes to identify a signed-in customer: a JWT, or a user id with its HMAC. */
export interface IdentityCredentials {
  identityToken?: string | undefined;
  userId?: string | undefined;
  userHash?: string | undefined;
}

export type IdentityResult = { ok: true; sender: SenderIdentity } | { ok: false; message: string };

const claims = z.object({
  sub: z.string().trim().min(1).max(256),
  /** Which kind of identity `sub` is; the bank's own user id unless it says otherwise. */
  kind: z.enum(['app_user', 'external_id', 'email', 'phone']).default('app_user'),
  name: z.string().trim().min(1).max(200).optional(),
});

/**
 * Checks the token the host site's backend signed with the channel's identity secret. Only a
 * valid token yields a verified identity; anything else is refused outright rather than
 * downgraded to an anonymous chat, so a customer never writes under the wrong name.
 */
export async function verifyIdentity(config: WebchatChannelConfig, credentials: IdentityCredentials): Promise<IdentityResult> {
  const secret = config.identitySecret;
  if (!secret) return { ok: false, message: 'this chat does not accept identity tokens (no identity secret configured)' };
  if (credentials.identityToken) {
    try {
      const { payload } = await jwtVerify(credentials.identityToken, new TextEncoder().encode(secret), {
        algorithms: ['HS256'],
        requiredClaims: ['exp', 'sub'],
      });
      const parsed = claims.safeParse(payload);
      if (!parsed.success) return { ok: false, message: 'identity token claims are invalid (sub, kind, name)' };
      const { sub, kind, name } = parsed.data;
      return { ok: true, sender: { kind, value: normalizeIdentityValue(kind, sub), verified: true, ...(name ? { name } : {}) } };
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) return { ok: false, message: 'identity token has expired' };
      if (error instanceof IdentityValueError) return { ok: false, message: `identity token: ${error.message}` };
      return { ok: false, message: 'identity token is not valid for this chat' };
    }
  }
  if (credentials.userId && credentials.userHash) {
    if (!constantTimeEqual(credentials.userHash.toLowerCase(), hmacSha256Hex(secret, credentials.userId))) {
      return { ok: false, message: 'user hash does not match the user id' };
    }
    try {
      return { ok: true, sender: { kind: 'app_user', value: normalizeIdentityValue('app_user', credentials.userId), verified: true } };
    } catch (error) {
      return { ok: false, message: `user id: ${(error as Error).message}` };
    }
  }
  return { ok: false, message: 'identity needs either a token or a user id with its hash' };
}
