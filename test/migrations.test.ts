import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../core/db/client.js';
import { createTestDatabase } from './support/databases.js';

const columnsQuery = sql`
  select table_name, column_name, data_type, is_nullable
  from information_schema.columns
  where table_schema = 'public'
  order by table_name, column_name`;
const indexesQuery = sql`select indexname from pg_indexes where schemaname = 'public' order by indexname`;

const opened: Database[] = [];
const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const db of opened) await db.close();
  for (const cleanup of cleanups) await cleanup();
});

describe('migrations', () => {
  it('the same migrations give the same schema on PostgreSQL and on the embedded database', async () => {
    const pg = await createTestDatabase();
    cleanups.push(pg.drop);
    const postgresDb = await openDatabase({ databaseUrl: pg.url, dataDir: '.' });
    opened.push(postgresDb);

    const dir = mkdtempSync(path.join(tmpdir(), 'hub-pglite-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const embedded = await openDatabase({ dataDir: dir });
    opened.push(embedded);
    await embedded.migrate();

    const pgColumns = await postgresDb.query(columnsQuery);
    const embeddedColumns = await embedded.query(columnsQuery);
    expect(pgColumns.length).toBeGreaterThan(50);
    expect(embeddedColumns).toEqual(pgColumns);
    expect(await embedded.query(indexesQuery)).toEqual(await postgresDb.query(indexesQuery));

    // Applying them again is a no-op on both.
    await postgresDb.migrate();
    await embedded.migrate();
    expect(await embedded.query(columnsQuery)).toEqual(embeddedColumns);
  });

  it('concurrent starters apply each migration once', async () => {
    const pg = await createTestDatabase({ empty: true });
    cleanups.push(pg.drop);
    const a = await openDatabase({ databaseUrl: pg.url, dataDir: '.' });
    const b = await openDatabase({ databaseUrl: pg.url, dataDir: '.' });
    opened.push(a, b);
    await Promise.all([a.migrate(), b.migrate(), a.migrate()]);
    const journal = JSON.parse(readFileSync(new URL('../migrations/meta/_journal.json', import.meta.url), 'utf8')) as { entries: unknown[] };
    const [applied] = await a.query<{ n: number }>(sql`select count(*)::int as n from drizzle.__drizzle_migrations`);
    expect(applied!.n).toBe(journal.entries.length);
    const [tables] = await a.query<{ n: number }>(sql`select count(*)::int as n from pg_tables where schemaname = 'public'`);
    expect(tables!.n).toBeGreaterThan(5);
  });
});
