import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { inject } from 'vitest';
import { openDatabase, type Database } from '../../core/db/client.js';

/** The server tests create their databases on; any superuser connection will do. */
export const adminDatabaseUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function databaseUrl(name: string): string {
  const url = new URL(adminDatabaseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function withAdmin<T>(run: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(adminDatabaseUrl, { max: 1, onnotice: () => {} });
  try {
    return await run(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * Each suite gets a database of its own, copied from a template the global setup migrated once:
 * suites run in parallel without seeing each other's rows, and a copy takes milliseconds.
 * `empty` gives a database with no migrations applied.
 */
export async function createTestDatabase(options: { empty?: boolean } = {}): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const template = inject('templateDatabase');
  // Named after the run's template, so the run's teardown finds what a crashed suite left.
  const name = `${template.replace(/_template$/, '')}_${randomBytes(5).toString('hex')}`;
  await withAdmin((sql) => sql.unsafe(`create database ${name}${options.empty ? '' : ` template ${template}`}`));
  return {
    name,
    url: databaseUrl(name),
    drop: () => withAdmin((sql) => sql.unsafe(`drop database if exists ${name} with (force)`)).then(() => undefined),
  };
}

/** A suite's own migrated database, opened; `close` closes and drops it. */
export async function openTestDatabase(): Promise<{ database: Database; close(): Promise<void> }> {
  const created = await createTestDatabase();
  const database = await openDatabase({ databaseUrl: created.url, dataDir: '.', poolSize: 2 });
  return {
    database,
    close: async () => {
      await database.close();
      await created.drop();
    },
  };
}
