import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { openDatabase } from '../../core/db/client.js';
import { ensureConsoleBuilt } from '../../server/console-build.js';
import { databaseUrl, withAdmin } from './databases.js';

declare module 'vitest' {
  export interface ProvidedContext {
    templateDatabase: string;
  }
}

/**
 * Migrates a fresh template database once per run; every suite copies it. Names carry a run id,
 * so several runs on one server (a developer's and a benchmark's) never touch each other's.
 */
export default async function setup(project: TestProject) {
  // The browser suites drive the console as built from the sources under test.
  await ensureConsoleBuilt(() => {});
  const run = randomBytes(4).toString('hex');
  const template = `hub_t_${run}_template`;
  await withAdmin((sql) => sql.unsafe(`create database ${template}`));
  const database = await openDatabase({ databaseUrl: databaseUrl(template), dataDir: '.', poolSize: 1 });
  await database.migrate();
  await database.close();
  project.provide('templateDatabase', template);

  return async () => {
    await withAdmin(async (sql) => {
      const left = await sql<{ datname: string }[]>`select datname from pg_database where datname like ${`hub_t_${run}_%`}`;
      for (const { datname } of left) await sql.unsafe(`drop database if exists ${datname} with (force)`);
    });
  };
}
