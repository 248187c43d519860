import { desc, eq } from 'drizzle-orm';
import { z } from 'zod';
import { createDeviceDirectory } from '../app-users/devices.js';
import { recordAudit } from '../audit.js';
import type { Db } from '../db/client.js';
import { channels } from '../db/schema.js';
import { badRequest, HubError, notFound } from '../errors.js';
import { OutboundHttpError, resolveOutboundHost } from '../security/outbound-http.js';
import type { SecretBox } from '../security/secret-box.js';
import { describeZodError, parseInput } from '../validation.js';
import {
  channelTypes,
  type AdapterRegistry,
  type AnyChannelAdapter,
  type ChannelContext,
  type ChannelLogger,
  type ChannelStore,
  type ChannelType,
} from './contract.js';

export interface ChannelDeps {
  db: Db;
  secretBox: SecretBox;
  adapters: AdapterRegistry;
  /** OUTBOUND_ALLOW_PRIVATE: whether a config may point the hub at private addresses. */
  allowPrivateNetwork: boolean;
}

type ChannelRow = typeof channels.$inferSelect;

/** A channel as the API shows it: secrets are never included, only which ones are set. */
export function toChannelView(row: ChannelRow, adapters: AdapterRegistry, secretBox: SecretBox) {
  const adapter = adapters[row.type as ChannelType];
  const secretsSet = row.secrets ? Object.keys(secretBox.openJson(row.secrets)) : [];
  return {
    id: row.id,
    type: row.type,
    name: row.name,
    enabled: row.enabled,
    config: row.config,
    secretsSet: adapter ? secretsSet.filter((k) => adapter.secretFields.includes(k)) : secretsSet,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
export type ChannelView = ReturnType<typeof toChannelView>;

export const createChannelInput = z.object({
  type: z.enum(channelTypes),
  name: z.string().trim().min(1).max(200),
  config: z.record(z.string(), z.unknown()).default({}),
});

export const updateChannelInput = z.object({
  name: z.string().trim().min(1).max(200).optional(),
  /** Fields to change; a secret field left out keeps its stored value. */
  config: z.record(z.string(), z.unknown()).optional(),
  enabled: z.boolean().optional(),
});

function validateConfig(adapter: AnyChannelAdapter, config: Record<string, unknown>) {
  const parsed = adapter.configSchema.safeParse(config);
  if (!parsed.success) throw badRequest(`invalid ${adapter.type} channel config: ${describeZodError(parsed.error)}`);
  const full = parsed.data as Record<string, unknown>;
  const publicPart: Record<string, unknown> = {};
  const secretPart: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(full)) {
    if (value === undefined) continue;
    (adapter.secretFields.includes(key) ? secretPart : publicPart)[key] = value;
  }
  return { publicPart, secretPart };
}

/**
 * Refuses a config whose outbound hosts are private, loopback or link-local addresses (or names
 * resolving to them) unless private targets are allowed. A name that does not resolve now is let
 * through: the connection-time guard still applies whenever the hub connects.
 */
async function assertPublicTargets(adapter: AnyChannelAdapter, config: unknown, allowPrivate: boolean): Promise<void> {
  if (allowPrivate || !adapter.outboundTargets) return;
  const refused = await Promise.all(
    adapter.outboundTargets(config).map(({ field, target }) =>
      resolveOutboundHost(target, { allowPrivate, timeoutMs: 3_000 }).then(
        () => undefined,
        (error: unknown) => (error instanceof OutboundHttpError && error.kind === 'blocked' ? `${field}: ${error.message}` : undefined),
      ),
    ),
  );
  const problems = refused.filter((p): p is string => p !== undefined);
  if (problems.length) {
    throw new HubError(
      400,
      'private_address',
      `invalid ${adapter.type} channel config: ${problems.join('; ')}; the hub connects only to public addresses unless OUTBOUND_ALLOW_PRIVATE=true`,
    );
  }
}

export async function createChannel(deps: ChannelDeps, actorUserId: string | null, input: unknown): Promise<ChannelView> {
  const { type, name, config } = parseInput(createChannelInput, input);
  const adapter = deps.adapters[type];
  const { publicPart, secretPart } = validateConfig(adapter, config);
  await assertPublicTargets(adapter, { ...publicPart, ...secretPart }, deps.allowPrivateNetwork);
  return deps.db.transaction(async (tx) => {
    const [row] = await tx
      .insert(channels)
      .values({ type, name, config: publicPart, secrets: deps.secretBox.sealJson(secretPart) })
      .returning();
    await recordAudit(tx, {
      actorUserId,
      action: 'channel.create',
      targetType: 'channel',
      targetId: row!.id,
      details: { type, name, config: publicPart, secretFields: Object.keys(secretPart) },
    });
    return toChannelView(row!, deps.adapters, deps.secretBox);
  });
}

export async function updateChannel(
  deps: ChannelDeps,
  actorUserId: string | null,
  id: string,
  input: unknown,
): Promise<ChannelView> {
  const patch = parseInput(updateChannelInput, input);
  if (patch.config) {
    // Checked before the transaction: resolving a name must not hold the channel's row lock.
    const [row] = await deps.db.select().from(channels).where(eq(channels.id, id));
    if (!row) throw notFound('channel', id);
    const adapter = deps.adapters[row.type as ChannelType];
    const current = { ...row.config, ...(row.secrets ? deps.secretBox.openJson(row.secrets) : {}) };
    const { publicPart, secretPart } = validateConfig(adapter, { ...current, ...patch.config });
    await assertPublicTargets(adapter, { ...publicPart, ...secretPart }, deps.allowPrivateNetwork);
  }
  return deps.db.transaction(async (tx) => {
    const [row] = await tx.select().from(channels).where(eq(channels.id, id)).for('update');
    if (!row) throw notFound('channel', id);
    const changes: Partial<typeof channels.$inferInsert> = { updatedAt: new Date() };
    const changedFields: string[] = [];
    if (patch.name !== undefined) changes.name = patch.name;
    if (patch.enabled !== undefined) changes.enabled = patch.enabled;
    if (patch.config) {
      const adapter = deps.adapters[row.type as ChannelType];
      const current = { ...row.config, ...(row.secrets ? deps.secretBox.openJson(row.secrets) : {}) };
      const { publicPart, secretPart } = validateConfig(adapter, { ...current, ...patch.config });
      changes.config = publicPart;
      changes.secrets = deps.secretBox.sealJson(secretPart);
      changedFields.push(...Object.keys(patch.config));
    }
    const [updated] = await tx.update(channels).set(changes).where(eq(channels.id, id)).returning();
    await recordAudit(tx, {
      actorUserId,
      action: patch.enabled === false ? 'channel.disable' : 'channel.update',
      targetType: 'channel',
      targetId: id,
      details: { name: patch.name, enabled: patch.enabled, configFields: changedFields },
    });
    return toChannelView(updated!, deps.adapters, deps.secretBox);
  });
}

export async function getChannel(deps: ChannelDeps, id: string): Promise<ChannelView> {
  const [row] = await deps.db.select().from(channels).where(eq(channels.id, id));
  if (!row) throw notFound('channel', id);
  return toChannelView(row, deps.adapters, deps.secretBox);
}

export async function listChannels(deps: ChannelDeps): Promise<ChannelView[]> {
  const rows = await deps.db.select().from(channels).orderBy(desc(channels.createdAt));
  return rows.map((row) => toChannelView(row, deps.adapters, deps.secretBox));
}

/**
 * The admin's "test" button: the config's hosts go through the outbound guard first, so a private
 * target is refused with a 400 before anything connects, whether or not a port is open there.
 */
export async function testChannelConnection(channel: LoadedChannel): Promise<{ ok: boolean; message: string }> {
  await assertPublicTargets(channel.adapter, channel.context.config, channel.context.allowPrivateNetwork);
  if (!channel.adapter.testConnection) return { ok: true, message: 'this channel type has nothing to test' };
  return channel.adapter.testConnection(channel.context);
}

export interface LoadedChannel {
  row: ChannelRow;
  adapter: AnyChannelAdapter;
  context: ChannelContext<unknown>;
}

export interface ChannelRuntime {
  publicBaseUrl: string | undefined;
  allowPrivateNetwork: boolean;
  sendTimeoutMs: number;
  storeFor(channelId: string): ChannelStore;
  logger?: ChannelLogger & { child(bindings: object): ChannelLogger };
}

/** Loads a channel with its decrypted config, ready for its adapter; undefined when it does not exist. */
export async function loadChannel(
  deps: Omit<ChannelDeps, 'allowPrivateNetwork'> & { runtime: ChannelRuntime },
  id: string,
): Promise<LoadedChannel | undefined> {
  if (!z.uuid().safeParse(id).success) return undefined;
  const [row] = await deps.db.select().from(channels).where(eq(channels.id, id));
  if (!row) return undefined;
  const adapter = deps.adapters[row.type as ChannelType];
  if (!adapter) return undefined;
  const secrets = row.secrets ? deps.secretBox.openJson(row.secrets) : {};
  const config = adapter.configSchema.parse({ ...row.config, ...secrets });
  const ownBaseUrl = (config as { publicBaseUrl?: unknown }).publicBaseUrl;
  return {
    row,
    adapter,
    context: {
      id: row.id,
      name: row.name,
      config,
      // A channel reached through its own proxy knows the address its provider sees.
      publicBaseUrl: typeof ownBaseUrl === 'string' ? ownBaseUrl : deps.runtime.publicBaseUrl,
      allowPrivateNetwork: deps.runtime.allowPrivateNetwork,
      sendTimeoutMs: deps.runtime.sendTimeoutMs,
      store: deps.runtime.storeFor(row.id),
      ...(deps.runtime.logger ? { logger: deps.runtime.logger.child({ channelId: row.id, channelType: row.type }) } : {}),
      devices: createDeviceDirectory(deps.db, row.id),
    },
  };
}

/**
 * Caches loaded channels for a few seconds: every webhook needs its channel's secret, and
 * decrypting it from the database on each request would double the cost of an acknowledgement.
 */
export function createChannelCache(deps: Omit<ChannelDeps, 'allowPrivateNetwork'> & { runtime: ChannelRuntime }, ttlMs = 5_000) {
  const entries = new Map<string, { at: number; value: Promise<LoadedChannel | undefined> }>();
  return {
    get(id: string): Promise<LoadedChannel | undefined> {
      const hit = entries.get(id);
      if (hit && Date.now() - hit.at < ttlMs) return hit.value;
      const value = loadChannel(deps, id);
      // Unknown ids are cached too (a flood of them must not reach the database), so bound the map.
      if (entries.size >= 10_000) entries.clear();
      entries.set(id, { at: Date.now(), value });
      value.catch(() => entries.delete(id));
      return value;
    },
    invalidate(id: string) {
      entries.delete(id);
    },
  };
}
export type ChannelCache = ReturnType<typeof createChannelCache>;
