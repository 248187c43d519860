import type { AuthenticatedUser } from '../../core/users/users.js';
import type { MessageViewer } from '../../core/security/message-view.js';
import type { Runtime } from '../runtime.js';

/** The caller as the message serializer sees them: their role and the deployment's masking policy. */
export function messageViewer(runtime: Runtime, user: Pick<AuthenticatedUser, 'role'>): MessageViewer {
  return {
    role: user.role,
    policy: { contactDetailsRoles: runtime.config.MASK_CONTACT_DETAILS_ROLES, revealRoles: runtime.config.MASK_REVEAL_ROLES },
  };
}
