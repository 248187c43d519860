import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql, type SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import postgres from 'postgres';
import * as schema from './schema.js';

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

export interface Database {
  db: Db;
  kind: 'postgres' | 'pglite';
  /** Runs raw SQL and returns its rows, whichever driver is underneath. */
  query<T extends Record<string, unknown>>(statement: SQL): Promise<T[]>;
  ping(): Promise<void>;
  /**
   * Applies the migrations in `migrations/`. On PostgreSQL an advisory lock serializes concurrent
   * starters (several hub processes booting at once), so each migration runs exactly once.
   */
  migrate(): Promise<void>;
  close(): Promise<void>;
}

export const migrationsFolder = fileURLToPath(new URL('../../migrations', import.meta.url));

export interface DatabaseOptions {
  databaseUrl?: string | undefined;
  dataDir: string;
  /** Connection pool size for PostgreSQL; the embedded database has one connection. */
  poolSize?: number;
}

/** Opens PostgreSQL when a URL is given, else the embedded PGlite database under `dataDir`. */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.databaseUrl) {
    const client = postgres(options.databaseUrl, {
      max: options.poolSize ?? 20,
      onnotice: () => {},
      connection: {
        application_name: 'hub',
        // A statement of a process that died (waiting on a lock, say) is cancelled instead of
        // committing on its own: storing a message is a single statement, and its domain events
        // are published by the process after it commits.
        client_connection_check_interval: 1000,
      },
    });
    const { drizzle } = await import('drizzle-orm/postgres-js');
    const db = drizzle(preparing(client), { schema }) as unknown as Db;
    const url = options.databaseUrl;
    return wrap(db, 'postgres', {
      migrate: () => migratePostgres(url),
      close: () => client.end({ timeout: 5 }),
    });
  }
  const dir = path.resolve(options.dataDir, 'pglite');
  mkdirSync(dir, { recursive: true });
  const releaseLock = lockEmbeddedDatabase(dir);
  const { PGlite } = await import('@electric-sql/pglite');
  const { pg_trgm } = await import('@electric-sql/pglite/contrib/pg_trgm');
  const { drizzle } = await import('drizzle-orm/pglite');
  // Extensions the migrations create must be loaded into the embedded build up front.
  const client = await PGlite.create(dir, { extensions: { pg_trgm } });
  const db = drizzle(client, { schema }) as unknown as Db;
  return wrap(db, 'pglite', {
    migrate: async () => {
      const { migrate: run } = await import('drizzle-orm/pglite/migrator');
      await run(db as never, { migrationsFolder });
    },
    close: async () => {
      await client.close();
      releaseLock();
    },
  });
}

/**
 * drizzle runs every query unnamed, so postgres.js first describes each statement with
 * parameters in a round trip of its own, and the database parses and plans it every time. Named
 * statements, which postgres.js caches per connection, take one round trip and are planned once:
 * on this path that is about half the round trips and a third less client CPU per statement.
 */
function preparing(client: postgres.Sql): postgres.Sql {
  type Scoped = (sql: postgres.Sql) => unknown;
  // Transactions and savepoints hand their callback a client of their own: it prepares too.
  const scoped = (open: (...args: unknown[]) => unknown) => (...args: unknown[]) => {
    const run = args.pop() as Scoped;
    return open(...args, (sql: postgres.Sql) => run(preparing(sql)));
  };
  return new Proxy(client, {
    get(target, property, receiver) {
      switch (property) {
        case 'unsafe':
          return (query: string, parameters?: postgres.ParameterOrJSON<never>[], options?: postgres.UnsafeQueryOptions) =>
            target.unsafe(query, parameters, { ...options, prepare: true });
        case 'begin':
        case 'savepoint':
          return scoped((Reflect.get(target, property) as (...args: unknown[]) => unknown).bind(target));
        default:
          return Reflect.get(target, property, receiver) as unknown;
      }
    },
  });
}

/** The rows of a raw statement from either driver: postgres.js returns an array, PGlite a `rows` field. */
export async function queryRows<T>(db: Db, statement: SQL): Promise<T[]> {
  const result: unknown = await db.execute(statement);
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

interface DriverParts {
  migrate: () => Promise<void>;
  close: () => Promise<void>;
}

function wrap(db: Db, kind: Database['kind'], { migrate, close }: DriverParts): Database {
  return {
    db,
    kind,
    migrate,
    query: <T extends Record<string, unknown>>(statement: SQL) => queryRows<T>(db, statement),
    ping: async () => {
      await db.execute(sql`select 1`);
    },
    close,
  };
}

async function migratePostgres(databaseUrl: string): Promise<void> {
  const client = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const { drizzle } = await import('drizzle-orm/postgres-js');
    const { migrate: run } = await import('drizzle-orm/postgres-js/migrator');
    await client`select pg_advisory_lock(7240501)`;
    await run(drizzle(client), { migrationsFolder });
    await client`select pg_advisory_unlock(7240501)`;
  } finally {
    await client.end({ timeout: 5 });
  }
}

export class EmbeddedDatabaseBusyError extends Error {
  override name = 'EmbeddedDatabaseBusyError';
}

/**
 * The embedded database is one process's files: a second process opening them would corrupt
 * them. A pid file keeps a second opener out (a stale one, of a process that is gone, is taken over).
 */
function lockEmbeddedDatabase(dir: string): () => void {
  const file = path.join(dir, 'hub.pid');
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
  } catch {
    const holder = Number(readFileSync(file, 'utf8'));
    if (holder !== process.pid && isAlive(holder)) {
      throw new EmbeddedDatabaseBusyError(
        `the embedded database in ${dir} is in use by process ${holder}; stop it first, or set DATABASE_URL to use PostgreSQL`,
      );
    }
    writeFileSync(file, String(process.pid));
  }
  return () => rmSync(file, { force: true });
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
