import { openDatabase } from '../../core/db/client.js';
import { databaseUrl, templateDatabase, withAdmin } from './databases.js';

/** Migrates a fresh template database once; every suite copies it. */
export default async function setup(): Promise<void> {
  await withAdmin(async (sql) => {
    // Databases of suites that crashed before dropping theirs.
    const stale = await sql<{ datname: string }[]>`select datname from pg_database where datname like 'hub_t_%'`;
    for (const { datname } of stale) await sql.unsafe(`drop database if exists ${datname} with (force)`);
    await sql.unsafe(`drop database if exists ${templateDatabase} with (force)`);
    await sql.unsafe(`create database ${templateDatabase}`);
  });
  const database = await openDatabase({ databaseUrl: databaseUrl(templateDatabase), dataDir: '.', poolSize: 1 });
  await database.migrate();
  await database.close();
}
