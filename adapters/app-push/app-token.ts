import { errors, importSPKI, jwtVerify, type CryptoKey } from 'jose';
import { findUnsafeInput } from '../../core/validation.js';
import type { AppChannelConfig } from './app-push.config.js';

export class AppTokenError extends Error {
  override name = 'AppTokenError';
}

// Channel configs are reloaded every few seconds; the imported key lives as long as its config.
const keys = new WeakMap<AppChannelConfig, Promise<CryptoKey | Uint8Array>>();

function verificationKey(config: AppChannelConfig): Promise<CryptoKey | Uint8Array> {
  let key = keys.get(config);
  if (!key) {
    key =
      config.tokenAlgorithm === 'HS256'
        ? Promise.resolve(new TextEncoder().encode(config.tokenSecret))
        : importSPKI(config.tokenPublicKey ?? '', config.tokenAlgorithm);
    keys.set(config, key);
  }
  return key;
}

/**
 * Verifies an app-user token signed by the bank's backend and returns the app user id (`sub`).
 * Only the channel's algorithm is accepted, so a token cannot pick a weaker one (`none`, or
 * HS256 keyed with the public key).
 */
export async function verifyAppUserToken(config: AppChannelConfig, token: string): Promise<string> {
  let key: CryptoKey | Uint8Array;
  try {
    key = await verificationKey(config);
  } catch {
    throw new AppTokenError('the channel has no usable token verification key; ask the bank to fix tokenPublicKey');
  }
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: [config.tokenAlgorithm],
      requiredClaims: ['exp', 'sub'],
      clockTolerance: 30,
      ...(config.tokenIssuer ? { issuer: config.tokenIssuer } : {}),
      ...(config.tokenAudience ? { audience: config.tokenAudience } : {}),
    });
    const subject = payload.sub?.trim();
    if (!subject || subject.length > 256 || findUnsafeInput(subject, 'sub')) {
      throw new AppTokenError('the app token sub must be the app user id (1 to 256 characters, no control characters)');
    }
    return subject;
  } catch (error) {
    if (error instanceof AppTokenError) throw error;
    if (error instanceof errors.JWTExpired) throw new AppTokenError('the app token has expired');
    if (error instanceof errors.JWTClaimValidationFailed) throw new AppTokenError(`the app token ${error.claim} claim is not valid: ${error.reason}`);
    if (error instanceof errors.JWSSignatureVerificationFailed) throw new AppTokenError('the app token signature is not valid for this channel');
    if (error instanceof errors.JOSEAlgNotAllowed) throw new AppTokenError(`the app token must be signed with ${config.tokenAlgorithm}`);
    throw new AppTokenError('the app token is not a valid JWT');
  }
}
