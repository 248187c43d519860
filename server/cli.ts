import { parseArgs } from 'node:util';
import type { Server } from 'node:http';
import { ConfigError, loadConfig, type Config } from '../core/config.js';
import { EmbeddedDatabaseBusyError, openDatabase } from '../core/db/client.js';
import { HubError } from '../core/errors.js';
import { createApiToken, createUser, createUserInput } from '../core/users/users.js';
import { parseInput } from '../core/validation.js';
import { startHttpServer } from './http-server.js';
import { RedisUnavailableError } from './redis-supervisor.js';
import { createLogger, createRuntime, startWorkers } from './runtime.js';
import { readPassword } from './password-input.js';
import { startSmtpIntake } from './smtp-intake.js';
import { ensureConsoleBuilt } from './console-build.js';

const usage = `usage: hub <command>

  start                     run the HTTP server and the workers in one process
  worker                    run the workers only (scale out with several)
  migrate                   apply database migrations and exit
  user create --email E --role admin|supervisor|agent|marketer [--name N] [--password P]
                            create a user who signs in to the console with their email and
                            password (at least 12 characters). Without --password (which
                            shells keep in their history) the password is asked for at a
                            terminal, without echo, or read as the first line of piped
                            standard input; an empty one creates a user without a password
                            (API tokens only)
  token create --email E --name N
                            create an API token for a user; prints it as the last line

Configuration comes from the environment; see .env.example.`;

/** Runs until SIGTERM or SIGINT, then drains HTTP requests and jobs within the shutdown timeout. */
async function serve(config: Config, withHttp: boolean): Promise<void> {
  const runtime = await createRuntime(config);
  const workers = await startWorkers(runtime);
  let server: Server | undefined;
  let smtp: Awaited<ReturnType<typeof startSmtpIntake>> | undefined;
  if (withHttp && config.SMTP_PORT !== undefined) {
    smtp = await startSmtpIntake(runtime, { port: config.SMTP_PORT, host: config.SMTP_HOST });
    runtime.logger.info({ port: smtp.port }, `smtp listener on ${config.SMTP_HOST}:${smtp.port}`);
  }
  if (withHttp) {
    server = await startHttpServer(runtime, { port: config.PORT, host: config.HOST });
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.PORT;
    runtime.logger.info(
      { port, database: runtime.database.kind, redis: runtime.redisUrl.replace(/\/\/[^@]*@/, '//***@') },
      `hub listening on http://${config.HOST}:${port}`,
    );
  } else {
    runtime.logger.info({ database: runtime.database.kind }, 'hub worker running');
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    runtime.logger.info({ signal }, 'shutting down');
    const deadline = config.SHUTDOWN_TIMEOUT_MS;
    const closing = server
      ? new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
          setTimeout(() => {
            server.closeAllConnections();
            resolve();
          }, deadline).unref();
        })
      : Promise.resolve();
    await Promise.all([closing, smtp?.close(), workers.close(deadline)]);
    await runtime.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

async function withDatabase<T>(config: Config, run: (db: Awaited<ReturnType<typeof openDatabase>>) => Promise<T>): Promise<T> {
  const database = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR, poolSize: 2 });
  try {
    await database.migrate();
    return await run(database);
  } finally {
    await database.close();
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, sub] = argv;
  const { values } = parseArgs({
    args: argv.slice(command === 'user' || command === 'token' ? 2 : 1),
    options: {
      email: { type: 'string' },
      password: { type: 'string' },
      role: { type: 'string' },
      name: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (!command || values.help || command === 'help') {
    console.log(usage);
    return;
  }
  const config = loadConfig();
  switch (command) {
    case 'start':
      // A checkout whose console sources changed since the last build serves the new console.
      await ensureConsoleBuilt((line) => console.log(line));
      return serve(config, true);
    case 'worker':
      return serve(config, false);
    case 'migrate':
      await withDatabase(config, async (database) => {
        console.log(`migrations applied (${database.kind})`);
      });
      return;
    case 'user':
      if (sub !== 'create') break;
      {
        const fields = { email: values.email, role: values.role, name: values.name };
        // Mistakes in the other fields are told before a password is asked for.
        parseInput(createUserInput.omit({ password: true }), fields, 'user');
        const password = values.password ?? (await readPassword(`Password for ${values.email}: `));
        await withDatabase(config, async ({ db }) => {
          const user = await createUser(db, null, { ...fields, password: password || undefined });
          console.log(`created ${user.role} ${user.email} (${user.id})`);
          if (!password) console.error(`${user.email} has no password: they cannot sign in to the console until an admin sets one`);
        });
      }
      return;
    case 'token':
      if (sub !== 'create') break;
      if (!values.email || !values.name) throw new HubError(400, 'bad_request', 'token create needs --email and --name');
      await withDatabase(config, async ({ db }) => {
        const { token } = await createApiToken(db, null, values.email!, values.name!);
        console.error(`API token "${values.name}" for ${values.email}; it is shown only once:`);
        console.log(token);
      });
      return;
  }
  throw new HubError(400, 'bad_request', `unknown command "${argv.join(' ')}"\n${usage}`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  // Mistakes a user can make get one clear line, not a stack trace.
  if (
    error instanceof ConfigError ||
    error instanceof HubError ||
    error instanceof RedisUnavailableError ||
    error instanceof EmbeddedDatabaseBusyError
  ) {
    console.error(`hub: ${error.message}`);
  } else if (error instanceof TypeError && (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    console.error(`hub: ${error.message}\n${usage}`);
  } else {
    createLogger({ LOG_LEVEL: 'error' }).fatal({ err: error }, 'hub failed');
  }
  process.exit(1);
});
