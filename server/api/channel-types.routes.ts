import { z } from 'zod';
import { channelTypes } from '../../core/channels/contract.js';
import { defineRoute, type ApiRoute } from './route.js';

/**
 * What the console needs to build a channel's form without knowing any channel type itself:
 * each type's config as a JSON schema (the input side, so defaults are optional), which fields
 * are secret, and where providers reach the hub.
 */
export const channelTypeRoutes: ApiRoute[] = [
  defineRoute({
    method: 'get',
    path: '/channel-types',
    summary: "Every channel type: its config's JSON schema (input side), its secret fields and whether it has a connection test; plus the hub's public base URL and SMTP port",
    tag: 'channels',
    roles: ['admin', 'supervisor'],
    responds: {
      status: 200,
      description: '{ publicBaseUrl: string | null, smtpPort: number | null, items: [{ type, displayName, schema, secretFields, testable }] }',
    },
    handle: async ({ runtime }) => ({
      publicBaseUrl: runtime.config.PUBLIC_BASE_URL?.replace(/\/+$/, '') ?? null,
      smtpPort: runtime.config.SMTP_PORT ?? null,
      items: channelTypes.map((type) => {
        const adapter = runtime.adapters[type];
        return {
          type,
          displayName: adapter.displayName,
          schema: z.toJSONSchema(adapter.configSchema, { io: 'input' }),
          secretFields: [...adapter.secretFields],
          testable: typeof adapter.testConnection === 'function',
        };
      }),
    }),
  }),
];
