import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken, createUser } from '../core/users/users.js';
import { startTestHub, type TestHub } from './support/test-hub.js';

let hub: TestHub;
let agentToken: string;

beforeAll(async () => {
  hub = await startTestHub({ workers: false, overrides: { PUBLIC_BASE_URL: 'https://hub.bank.example/care/' } });
  const agent = await createUser(hub.runtime.database.db, null, { email: 'agent@bank.test', role: 'agent' });
  agentToken = (await createApiToken(hub.runtime.database.db, null, agent.email, 'console')).token;
});
afterAll(() => hub?.close());

describe('GET /api/v1/channel-types', () => {
  it("describes every channel type's config as a JSON schema with its secret fields", async () => {
    const { status, body } = await hub.api('GET', '/api/v1/channel-types');
    expect(status).toBe(200);
    expect(body.publicBaseUrl).toBe('https://hub.bank.example/care');
    expect(body.items.map((item: { type: string }) => item.type)).toEqual(['api', 'sms_twilio', 'wechat', 'app', 'webchat', 'email']);

    const byType = Object.fromEntries(body.items.map((item: { type: string }) => [item.type, item]));
    expect(byType.api).toMatchObject({
      secretFields: ['secret'],
      testable: true,
      schema: {
        type: 'object',
        required: ['callbackUrl', 'secret'],
        properties: { callbackUrl: { type: 'string', format: 'uri' }, secret: { type: 'string', minLength: 16 } },
      },
    });
    expect(byType.wechat.secretFields).toEqual(['appSecret', 'token', 'encodingAESKey', 'previousEncodingAESKey']);
    // The input side: a field with a default is not required, and the default is there for a form to start from.
    expect(byType.email.schema.required).toEqual(['address', 'webhookSecret']);
    expect(byType.email.schema.properties.imapAfterImport).toMatchObject({ enum: ['seen', 'move'], default: 'seen' });
    expect(byType.webchat.schema.properties.serviceHours).toMatchObject({ type: 'object', required: ['timeZone', 'open', 'close'] });
  });

  it('is for admins and supervisors only', async () => {
    const asAgent = await hub.api('GET', '/api/v1/channel-types', undefined, { authorization: `Bearer ${agentToken}` });
    expect(asAgent.status).toBe(403);
    const openApi = await (await fetch(`${hub.baseUrl}/api/openapi.json`)).json();
    expect(openApi.paths['/api/v1/channel-types']?.get).toBeDefined();
  });
});
