import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { signBody } from '../adapters/api/api.adapter.js';
import { computeSignature } from '../adapters/wechat/wechat-crypto.js';
import { buildWechatXml } from '../adapters/wechat/wechat-xml.js';
import { createApiToken, createUser } from '../core/users/users.js';
import { apiRoutes } from '../server/api/routes.js';
import { startCallbackServer } from './support/callback-server.js';
import { startTestHub, waitFor, type TestHub } from './support/test-hub.js';

/**
 * Drives every route of the REST API, the provider webhooks, the app API and the widget's HTTP
 * endpoints with generated bodies, headers and query strings: whatever arrives, the hub answers
 * 2xx, 3xx or 4xx, never 5xx. The seed is printed; FUZZ_SEED=<seed> replays a run, FUZZ_RUNS
 * changes its length.
 */
const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const runs = Number(process.env.FUZZ_RUNS ?? 600);

let hub: TestHub;
let callback: Awaited<ReturnType<typeof startCallbackServer>>;
const secrets = {
  api: randomBytes(24).toString('hex'),
  email: randomBytes(24).toString('hex'),
  app: randomBytes(32).toString('hex'),
  wechatToken: 'fuzzToken123',
  twilioAuth: randomBytes(16).toString('hex'),
};
const channels: Record<string, string> = {};
const ids: Record<string, string[]> = {};
let agentToken: string;
const serverErrors: string[] = [];
/** App-user tokens: two customers, an odd subject, and one signed with the wrong key. */
const appTokens: string[] = [];
let marketerToken: string;

async function created(response: Promise<{ status: number; body: any }>, what: string): Promise<any> {
  const { status, body } = await response;
  if (status >= 300) throw new Error(`${what}: ${status} ${JSON.stringify(body)}`);
  return body;
}

beforeAll(async () => {
  console.log(`http fuzz: seed ${seed}, ${runs} runs (FUZZ_SEED=${seed} replays this run)`);
  // The hub's own account of each 5xx (its error, logged safely) goes into the failure report.
  const errors = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.includes('"msg":"request failed"')) serverErrors.push(line);
      done();
    },
  });
  hub = await startTestHub({ overrides: { LOG_LEVEL: 'error' }, logDestination: errors });
  callback = await startCallbackServer();
  const db = hub.runtime.database.db;
  const make = (type: string, config: Record<string, unknown>) =>
    created(hub.api('POST', '/api/v1/channels', { type, name: `fuzz ${type}`, config }), `${type} channel`).then((c) => (channels[type] = c.id));
  await make('api', { callbackUrl: callback.url, secret: secrets.api });
  await make('webchat', { allowedOrigins: ['*'], identitySecret: randomBytes(24).toString('hex') });
  await make('app', { tokenAlgorithm: 'HS256', tokenSecret: secrets.app });
  await make('email', { address: 'care@bank.test', webhookSecret: secrets.email, smtpHost: '127.0.0.1', smtpPort: 1 });
  await make('wechat', { appId: 'wx0123456789abcdef', appSecret: randomBytes(16).toString('hex'), token: secrets.wechatToken, apiBaseUrl: 'http://127.0.0.1:1' });
  await make('sms_twilio', { accountSid: `AC${'0'.repeat(32)}`, authToken: secrets.twilioAuth, from: '+14155550100', apiBaseUrl: 'http://127.0.0.1:1', publicBaseUrl: hub.baseUrl });

  // Some of everything the API has ids for, so that generated requests reach past the 404s.
  await hub.postSigned(channels.api!, secrets.api, { messageId: 'fuzz-1', from: { kind: 'phone', value: '13800138000', name: '王小明' }, text: '你好' });
  await hub.postSigned(channels.api!, secrets.api, { messageId: 'fuzz-2', from: { kind: 'email', value: 'li@bank.test' }, text: 'hello' });
  const conversations = await waitFor(async () => {
    const { body } = await hub.api('GET', '/api/v1/conversations?view=all');
    return body?.items?.length >= 2 ? (body.items as any[]) : undefined;
  });
  ids.conversations = conversations.map((c) => c.id);
  ids.contacts = conversations.map((c) => c.contact?.id ?? c.contactId).filter(Boolean);
  const messages = await hub.api('GET', `/api/v1/conversations/${ids.conversations[0]}/messages`);
  ids.messages = messages.body.items.map((m: any) => m.id);
  const agent = await createUser(db, null, { email: 'agent@bank.test', role: 'agent' });
  const marketer = await createUser(db, null, { email: 'marketer@bank.test', role: 'marketer' });
  agentToken = (await createApiToken(db, null, agent.email, 'fuzz')).token;
  marketerToken = (await createApiToken(db, null, marketer.email, 'fuzz')).token;
  const spare = await created(hub.api('POST', '/api/v1/api-tokens', { userId: agent.id, name: 'spare' }), 'token');
  ids.users = [agent.id, marketer.id];
  ids['api-tokens'] = [spare.id];
  const team = await created(hub.api('POST', '/api/v1/teams', { name: 'Cards' }), 'team');
  ids.teams = [team.id];
  ids.agents = [agent.id];
  const article = await created(hub.api('POST', '/api/v1/kb/articles', { title: '挂失', questions: ['信用卡丢了怎么办'], answer: '请拨打热线' }), 'article');
  ids.kb = [article.id];
  const rule = await created(hub.api('POST', '/api/v1/routing/rules', { name: 'vip', conditions: { tiers: ['vip'] }, actions: { teamId: team.id } }), 'rule');
  ids.routing = [rule.id];
  const merge = await created(hub.api('POST', '/api/v1/contacts/merge', { survivorId: ids.contacts[0], mergedId: ids.contacts[1] }), 'merge');
  ids['contact-merges'] = [merge.id];
  const events = await hub.api('GET', '/api/v1/inbound-events?status=processed');
  ids['inbound-events'] = (events.body?.items ?? []).map((e: any) => e.id);
  ids.channels = Object.values(channels);
  const appToken = (sub: string, key = secrets.app) =>
    new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('10m').sign(new TextEncoder().encode(key));
  appTokens.push(await appToken('app-user-1'), await appToken('app-user-2'), await appToken(' \u0000x'), await appToken('app-user-1', 'wrong'.repeat(8)), 'not.a.jwt');
  ids.attachments = [];
});
afterAll(async () => {
  await callback?.close();
  await hub?.close();
});

// ---- generated values ------------------------------------------------------------------------

const nasty = [
  '\u0000',
  'a\u0000b',
  'line\u0001\u001f',
  '\ud800',
  '\udfff tail',
  '%E0%A4%A',
  '%00',
  "' OR 1=1--",
  '"; drop table contacts; --',
  '<script>alert(1)</script>',
  '../../etc/passwd',
  '6222021234567894',
  '110105199003071239',
  '',
  ' ',
  'x'.repeat(5_000),
  '2025-02-30T00:00:00Z',
  '9999-12-31T23:59:59Z',
  '0000-00-00',
  'NaN',
  '-1',
  '1e309',
  'zh-CN',
  'null',
  '{}',
  '[]',
  '*',
  '%',
  '_',
  '\\',
  '🙂',
  '丁'.repeat(300),
];
const uuidPool = () => fc.constantFrom(...Object.values(ids).flat(), randomUUID(), '00000000-0000-0000-0000-000000000000');
const nastyString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...nasty) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.uuid() },
  { weight: 1, arbitrary: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()) },
);
const nastyNumber = fc.oneof(
  fc.integer(),
  fc.constantFrom(0, -1, 1, 2 ** 31, 2 ** 53, -(2 ** 63), 1e308, 0.5, -0),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const { value: nastyJson } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    nastyString,
    nastyNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(nastyString, tie('value'), { maxKeys: 3 }),
  ),
}));
/** JSON nested far deeper than anything the hub accepts, as text (JSON.stringify would overflow the stack). */
const deepJson = fc
  .record({ n: fc.integer({ min: 17, max: 20_000 }), objects: fc.boolean() })
  .map(({ n, objects }) => (objects ? `${'{"a":'.repeat(n)}1${'}'.repeat(n)}` : `${'['.repeat(n)}1${']'.repeat(n)}`));
/** `template` with `$` replaced by deeply nested JSON. */
const withDeep = (template: string) => deepJson.map((deep) => template.replace('$', deep));

/** encodeURIComponent, except that an unpaired surrogate becomes the (invalid) UTF-8 bytes of one. */
const enc = (text: string) =>
  text
    .split(/([\uD800-\uDFFF])/)
    .map((part) => (/^[\uD800-\uDFFF]$/.test(part) ? '%ED%A0%80' : encodeURIComponent(part)))
    .join('');

type Schema = Record<string, any>;

/** Values shaped like a JSON schema says, now and then swapped for something nasty. */
function fromSchema(schema: Schema | undefined, root: Schema, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > 5) return nastyJson;
  if (schema.$ref) {
    const name = String(schema.$ref).split('/').pop()!;
    return fromSchema(root.$defs?.[name] ?? root.definitions?.[name], root, depth + 1);
  }
  const shaped: fc.Arbitrary<unknown>[] = [];
  if (Array.isArray(schema.enum)) shaped.push(fc.constantFrom(...schema.enum));
  if ('const' in schema) shaped.push(fc.constant(schema.const));
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    if (Array.isArray(schema[key]) && schema[key].length) shaped.push(fc.oneof(...schema[key].map((s: Schema) => fromSchema(s, root, depth + 1))));
  }
  const types: string[] = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  for (const type of types) {
    if (type === 'object') {
      const properties: Record<string, Schema> = schema.properties ?? {};
      const model = Object.fromEntries(Object.entries(properties).map(([k, s]) => [k, fromSchema(s, root, depth + 1)]));
      const required = (schema.required ?? []).filter((k: string) => k in model);
      shaped.push(fc.record(model, { requiredKeys: required }));
      if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
        shaped.push(fc.dictionary(nastyString, fromSchema(schema.additionalProperties, root, depth + 1), { maxKeys: 3 }));
      }
    } else if (type === 'array') {
      shaped.push(fc.array(fromSchema(schema.items, root, depth + 1), { maxLength: 4 }));
    } else if (type === 'string') {
      if (schema.format === 'uuid') shaped.push(uuidPool());
      else if (schema.format === 'date-time') shaped.push(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()));
      else if (schema.format === 'email') shaped.push(fc.emailAddress());
      else if (schema.format === 'uri') shaped.push(fc.webUrl());
      else if (schema.pattern) {
        try {
          shaped.push(fc.stringMatching(new RegExp(schema.pattern)).map((s) => s.slice(0, 300)));
        } catch {
          shaped.push(fc.string({ maxLength: 30 }));
        }
      } else shaped.push(fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 30, 60) }));
    } else if (type === 'integer' || type === 'number') {
      const min = typeof schema.minimum === 'number' ? schema.minimum : -1000;
      const max = typeof schema.maximum === 'number' ? schema.maximum : 1000;
      shaped.push(type === 'integer' ? fc.integer({ min: Math.max(min, -(2 ** 31)), max: Math.min(max, 2 ** 31) }) : fc.double({ min, max, noNaN: true }));
    } else if (type === 'boolean') shaped.push(fc.boolean());
    else if (type === 'null') shaped.push(fc.constant(null));
  }
  if (!shaped.length) return nastyJson;
  return fc.oneof({ weight: 5, arbitrary: fc.oneof(...shaped) }, { weight: 1, arbitrary: nastyJson });
}

function jsonSchemaOf(schema: z.ZodType | undefined): Schema | undefined {
  if (!schema) return undefined;
  try {
    return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Schema;
  } catch {
    return undefined;
  }
}

/** Cursors as a client could forge them: well-formed base64 of the wrong thing, or not base64 at all. */
const forgedCursor = fc.oneof(
  fc.constantFrom(
    Buffer.from(JSON.stringify(['x', "' OR 1=1--"])).toString('base64'),
    Buffer.from(JSON.stringify(['2025-02-30 00:00:00+00', randomUUID()])).toString('base64url'),
    Buffer.from(JSON.stringify([99999, '2025-01-01T00:00:00Z', 'not-a-uuid'])).toString('base64url'),
    Buffer.from(JSON.stringify([1e300])).toString('base64url'),
    Buffer.from(JSON.stringify(['2025-01-01T00:00:00.000Z', 'a'.repeat(37)])).toString('base64url'),
    Buffer.from('{"a":1}').toString('base64url'),
    '%%%',
    '\u0000',
  ),
  nastyJson.map((v) => Buffer.from(JSON.stringify(v) ?? 'null').toString('base64url')),
);

const queryValue = (schema: Schema | undefined, root: Schema, key: string) =>
  key === 'cursor'
    ? forgedCursor
    : fc.oneof(
        { weight: 3, arbitrary: fromSchema(schema, root).map((v) => (typeof v === 'string' ? v : JSON.stringify(v) ?? '')) },
        { weight: 1, arbitrary: nastyString },
      );

function encodeQuery(entries: Array<[string, string]>, raw: string): string {
  const encoded = entries.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&');
  const all = [encoded, raw].filter(Boolean).join('&');
  return all ? `?${all}` : '';
}

const rawQueryTail = fc.oneof(
  { weight: 4, arbitrary: fc.constant('') },
  { weight: 1, arbitrary: fc.constantFrom('a=%E0%A4%A', 'q=%00', 'tag=%FF%FE', 'limit=1&limit=2', 'cursor[$ne]=1', 'view[]=all', '%=%', 'status=open&status=') },
);

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

const idFor = (path: string, param: string) => {
  const area = path.split('/')[1]!;
  const pool = param === 'id' ? ids[area] ?? [] : [];
  return fc.oneof(
    { weight: 6, arbitrary: pool.length ? fc.constantFrom(...pool) : fc.uuid() },
    { weight: 1, arbitrary: fc.uuid() },
    { weight: 1, arbitrary: fc.constantFrom('me', 'phone', 'email', 'wechat_openid', '%E0%A4%A', '%00', '..', 'x'.repeat(300), "1' or '1'='1") },
  );
};

const authHeader = () =>
  fc.oneof(
    { weight: 8, arbitrary: fc.constant(`Bearer ${hub.adminToken}`) },
    { weight: 1, arbitrary: fc.constant(`Bearer ${agentToken}`) },
    { weight: 1, arbitrary: fc.constant(`Bearer ${marketerToken}`) },
    { weight: 1, arbitrary: fc.constantFrom('', 'Bearer', 'Bearer x', 'Basic YTpi', `Bearer ${'a'.repeat(2000)}`) },
  );

const bodyOf = (schema: Schema | undefined) =>
  fc.oneof(
    { weight: 8, arbitrary: fromSchema(schema, schema ?? {}).map((v) => JSON.stringify(v) ?? '') },
    { weight: 1, arbitrary: withDeep('{"attributes":{"a":$},"config":{"x":1},"text":"x","name":"x"}') },
    { weight: 1, arbitrary: fc.integer({ min: 8, max: 12 }).map((n) => JSON.stringify({ attributes: { a: JSON.parse(`${'[' .repeat(n)}1${']'.repeat(n)}`) } })) },
    { weight: 1, arbitrary: fc.constantFrom('{', 'null', '"\\u0000"', '{"a":"\\ud800"}', '[]', '1', '{"__proto__":{"x":1}}', '{"text":"a\\u0000b"}') },
  );

function apiRequest(): fc.Arbitrary<FuzzRequest> {
  const routes = apiRoutes.map((route) => ({ route, body: jsonSchemaOf(route.body), query: jsonSchemaOf(route.query) }));
  return fc.constantFrom(...routes).chain(({ route, body, query }) => {
    const params = [...route.path.matchAll(/:(\w+)/g)].map((m) => m[1]!);
    const queryKeys = Object.keys(query?.properties ?? {});
    return fc
      .record({
        params: fc.tuple(...params.map((p) => idFor(route.path, p))),
        query: fc.subarray(queryKeys).chain((keys) => fc.tuple(...keys.map((k) => queryValue(query!.properties[k], query!, k).map((v) => [k, v] as [string, string])))),
        rawQuery: rawQueryTail,
        body: route.body || route.method !== 'get' ? bodyOf(body) : fc.constant(undefined),
        auth: authHeader(),
        contentType: fc.constantFrom('application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/json; charset=latin1', ''),
        idempotency: fc.option(nastyString.map((s) => s.replace(/[^\x20-\x7e]/g, '')), { nil: undefined }),
      })
      .map(({ params: values, query: entries, rawQuery, body: payload, auth, contentType, idempotency }) => {
        let path = route.path;
        params.forEach((name, i) => (path = path.replace(`:${name}`, values[i]!.includes('%') ? values[i]! : enc(values[i]!))));
        const headers: Record<string, string> = {};
        if (auth) headers.authorization = auth;
        if (contentType && payload !== undefined) headers['content-type'] = contentType;
        if (idempotency !== undefined) headers['idempotency-key'] = idempotency;
        return { method: route.method.toUpperCase(), path: `/api/v1${path}${encodeQuery(entries, rawQuery)}`, headers, body: route.method === 'get' ? undefined : payload };
      });
  });
}

const inboundApiMessage = fc.record(
  {
    messageId: fc.oneof(fc.string({ minLength: 1, maxLength: 30 }), fc.constantFrom(...nasty)),
    from: fc.record({ kind: fc.constantFrom('phone', 'email', 'wechat_openid', 'external', 'bogus'), value: nastyString, name: nastyString }, { requiredKeys: ['kind', 'value'] }),
    text: nastyString,
    attachments: fc.array(fc.record({ url: fc.oneof(fc.webUrl(), nastyString), contentType: nastyString }), { maxLength: 2 }),
  },
  { requiredKeys: ['messageId', 'from'] },
);

function webhookRequest(): fc.Arbitrary<FuzzRequest> {
  const api = fc.oneof({ weight: 4, arbitrary: inboundApiMessage.map((m) => JSON.stringify(m)) }, { weight: 1, arbitrary: bodyOf(undefined) }).chain((raw) =>
    fc.boolean().map((signed) => ({
      method: 'POST',
      path: `/webhooks/api/${channels.api}`,
      headers: { 'content-type': 'application/json', ...(signed ? { 'x-hub-signature-256': signBody(secrets.api, raw) } : { 'x-hub-signature-256': 'sha256=00' }) },
      body: raw,
    })),
  );
  const email = fc
    .record({ subject: nastyString, from: fc.oneof(fc.emailAddress(), nastyString), text: nastyString, messageId: nastyString, raw: fc.boolean() })
    .map(({ subject, from, text, messageId, raw }) => ({
      method: 'POST',
      path: `/webhooks/email/${channels.email}`,
      headers: { authorization: `Bearer ${secrets.email}`, 'content-type': 'message/rfc822' },
      body: raw ? text : `From: ${from}\r\nTo: care@bank.test\r\nSubject: ${subject}\r\nMessage-ID: <${messageId}>\r\n\r\n${text}\r\n`,
    }));
  const wechat = fc
    .record({ content: nastyString, from: nastyString, msgId: fc.oneof(fc.bigInt({ min: 1n, max: 2n ** 64n }).map(String), nastyString), type: fc.constantFrom('text', 'image', 'event', 'voice', 'location', 'bogus') })
    .map(({ content, from, msgId, type }) => {
      const timestamp = String(Math.floor(Date.now() / 1000));
      const nonce = '12345';
      const query = new URLSearchParams({ signature: computeSignature([secrets.wechatToken, timestamp, nonce]), timestamp, nonce, openid: from });
      let body: string;
      try {
        body = buildWechatXml({ ToUserName: 'gh_1', FromUserName: from, CreateTime: timestamp, MsgType: type, Content: content, MsgId: msgId, Event: content, PicUrl: content });
      } catch {
        body = `<xml><Content>${content}</Content></xml>`;
      }
      return { method: 'POST', path: `/webhooks/wechat/${channels.wechat}?${query}`, headers: { 'content-type': 'text/xml' }, body };
    });
  const sms = fc
    .record({ from: nastyString, text: nastyString, sid: nastyString, status: fc.boolean(), media: fc.oneof(fc.constant('0'), nastyString) })
    .map(({ from, text, sid, status, media }) => {
      const subpath = status ? '/status' : '';
      const params: Record<string, string> = status
        ? { MessageSid: sid, MessageStatus: text, ErrorCode: media }
        : { MessageSid: sid, From: from, To: '+14155550100', Body: text, NumMedia: media };
      const url = `${hub.baseUrl}/webhooks/sms_twilio/${channels.sms_twilio}${subpath}`;
      return {
        method: 'POST',
        path: `/webhooks/sms_twilio/${channels.sms_twilio}${subpath}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilio.getExpectedTwilioSignature(secrets.twilioAuth, url, params) },
        body: new URLSearchParams(params).toString(),
      };
    });
  const anyType = fc
    .record({ type: fc.constantFrom('api', 'email', 'wechat', 'sms_twilio', 'webchat', 'app', 'bogus'), method: fc.constantFrom('GET', 'POST', 'PUT'), body: bodyOf(undefined), tail: fc.constantFrom('', '/status', '/%E0%A4%A', '/a/b/c') })
    .map(({ type, method, body, tail }) => ({
      method,
      path: `/webhooks/${type}/${channels[type] ?? randomUUID()}${tail}`,
      headers: { 'content-type': 'application/json' },
      body: method === 'GET' ? undefined : body,
    }));
  return fc.oneof(api, email, wechat, sms, anyType);
}

function appRequest(): fc.Arbitrary<FuzzRequest> {
  return fc
    .record({
      token: fc.constantFrom(...appTokens),
      action: fc.constantFrom('POST messages', 'GET messages', 'POST messages/read', 'POST devices', 'DELETE devices'),
      body: fc.oneof(
        fc.record({ clientMessageId: nastyString, text: nastyString, attachments: nastyJson, language: nastyString }, { requiredKeys: [] }),
        fc.record({ platform: fc.constantFrom('fcm', 'apns', 'x'), token: nastyString, language: nastyString }, { requiredKeys: [] }),
        fc.record({ messageIds: fc.array(fc.oneof(fc.uuid(), nastyString), { maxLength: 3 }) }),
        nastyJson,
      ).map((value) => JSON.stringify(value) ?? 'null'),
      query: fc.record({ cursor: forgedCursor, limit: nastyString }, { requiredKeys: [] }),
      deep: fc.option(withDeep('{"clientMessageId":"abcdefgh","text":"x","payload":$}'), { freq: 8 }),
    })
    .map(({ token, action, body, query, deep }) => {
      const [method, tail] = action.split(' ') as [string, string];
      const path = tail === 'devices' && method === 'DELETE' ? `devices/${randomUUID()}` : tail;
      return {
        method,
        path: `/api/app/v1/channels/${channels.app}/${path}${method === 'GET' ? encodeQuery(Object.entries(query), '') : ''}`,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: method === 'GET' || method === 'DELETE' ? undefined : deep ?? body,
      };
    });
}

function widgetRequest(): fc.Arbitrary<FuzzRequest> {
  const base = () => `/widget/v1/channels/${channels.webchat}`;
  const frames = fc
    .record({
      hello: fc.oneof(fc.record({ visitorToken: nastyString, identityToken: nastyString, userId: nastyString, userHash: nastyString }, { requiredKeys: [] }), nastyJson),
      frame: fc.oneof(
        fc.record({ type: fc.constant('message'), id: fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{8,20}$/), nastyString), text: nastyString, attachments: fc.array(fc.oneof(fc.uuid(), nastyString), { maxLength: 2 }), contact: nastyJson }, { requiredKeys: ['type'] }),
        fc.record({ type: fc.constantFrom('read', 'typing', 'history', 'bogus'), messageId: fc.oneof(fc.uuid(), nastyString), before: nastyJson }, { requiredKeys: ['type'] }),
        nastyJson,
      ),
    }, { requiredKeys: [] })
    .chain((body) => fc.option(withDeep('{"frame":{"type":"message","id":"abcdefgh","text":$}}'), { freq: 8 }).map((deep) => deep ?? JSON.stringify(body)))
    .map((body) => ({ method: 'POST', path: `${base()}/frames`, headers: { 'content-type': 'application/json', origin: 'https://www.bank.test' }, body }));
  const upload = fc
    .record({ name: fc.oneof(fc.constantFrom('%E0%A4%A', '%', '%00file.png', 'a%2Fb.png', '%ZZ'), fc.string({ maxLength: 20 }).map(enc)), hello: fc.oneof(fc.constantFrom('%E0%A4%A', '{', '%7B%7D'), nastyString.map(enc)), type: fc.constantFrom('image/png', 'application/pdf', 'text/html', ''), size: fc.integer({ min: 0, max: 64 }) })
    .map(({ name, hello, type, size }) => ({
      method: 'POST',
      path: `${base()}/attachments`,
      headers: { 'content-type': type, 'x-file-name': name, 'x-hub-hello': hello, origin: 'https://www.bank.test' },
      body: new Uint8Array(randomBytes(size)),
    }));
  const download = fc
    .record({ id: fc.oneof(fc.uuid(), nastyString.map(enc), fc.constant('%E0%A4%A')), hello: fc.oneof(fc.constant('%E0%A4%A'), nastyString.map(enc)) })
    .map(({ id, hello }) => ({ method: 'GET', path: `${base()}/attachments/${id}`, headers: { 'x-hub-hello': hello }, body: undefined }));
  const other = fc
    .record({ channel: fc.oneof(fc.constant(channels.webchat!), fc.uuid(), fc.constantFrom('%E0%A4%A', 'x')), method: fc.constantFrom('OPTIONS', 'GET', 'POST'), tail: fc.constantFrom('/frames', '/attachments', '', '/x') })
    .map(({ channel, method, tail }) => ({ method, path: `/widget/v1/channels/${channel}${tail}`, headers: { origin: 'https://evil.test' }, body: undefined }));
  const unsubscribe = fc
    .record({ token: fc.oneof(nastyString.map(enc), fc.constant('%E0%A4%A')), method: fc.constantFrom('GET', 'POST'), channel: fc.oneof(fc.constant(channels.email!), fc.uuid(), fc.constant('%00')) })
    .map(({ token, method, channel }) => ({
      method,
      path: `/email/unsubscribe/${channel}/${token || 'x'}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: method === 'POST' ? 'List-Unsubscribe=One-Click' : undefined,
    }));
  const paths = fc
    .constantFrom('/%E0%A4%A', '/api/v1/%E0%A4%A', '/api/v1/contacts/%E0%A4%A', '/assets/%E0%A4%A', '/api/app/v1/channels/%E0%A4%A/messages', '/widget.js?x=%E0%A4%A', '/api/v1/contacts?%E0%A4%A', '/api/openapi.json')
    .map((path) => ({ method: 'GET', path, headers: { accept: 'text/html', authorization: `Bearer ${hub.adminToken}` }, body: undefined }));
  return fc.oneof(frames, upload, download, other, unsubscribe, paths);
}

async function send(request: FuzzRequest): Promise<{ status: number; text: string }> {
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(`${hub.baseUrl}${request.path}`, {
      method: request.method,
      headers: request.headers,
      body: request.body as BodyInit | undefined,
      redirect: 'manual',
    });
    const text = (await response.text()).slice(0, 500);
    // A database out of connections (a shared test server under load) is not the input's doing:
    // the same request is sent again, and only an answer that stays 5xx counts.
    if (response.status !== 503 || !text.includes('"unavailable"') || attempt === 4) return { status: response.status, text };
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

const describeRequest = (r: FuzzRequest) =>
  `${r.method} ${r.path}\n  headers ${JSON.stringify(r.headers)}\n  body ${r.body === undefined ? '(none)' : JSON.stringify(String(r.body).slice(0, 800))}`;

describe('no input gets a 5xx', () => {
  it('from the REST API, the webhooks, the app API and the widget', async () => {
    const started = Date.now();
    const statuses = new Map<number, number>();
    // Every 5xx is collected, so one run shows them all; the seed replays the run.
    const failures: string[] = [];
    const request = fc.oneof(
      { weight: 10, arbitrary: apiRequest() },
      { weight: 3, arbitrary: webhookRequest() },
      { weight: 2, arbitrary: appRequest() },
      { weight: 3, arbitrary: widgetRequest() },
    );
    await fc.assert(
      fc.asyncProperty(request, async (generated) => {
        const { status, text } = await send(generated);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (status >= 500) failures.push(`${status} for ${describeRequest(generated)}\n  answer ${text}`);
      }),
      { seed, numRuns: runs },
    );
    console.log(`http fuzz: ${runs} requests in ${Date.now() - started} ms; statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
    expect(failures, `seed ${seed}; the hub logged:\n${serverErrors.join('\n')}`).toEqual([]);
  });
});
