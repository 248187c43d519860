import type { AdapterRegistry } from '../core/channels/contract.js';
import { apiAdapter } from './api/api.adapter.js';
import { emailAdapter } from './email/email.adapter.js';

/** Every channel type's adapter; a type in the union without an entry here fails to compile. */
export const adapters: AdapterRegistry = {
  api: { ...apiAdapter, type: 'api' },
  email: { ...emailAdapter, type: 'email' },
};
