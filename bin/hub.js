#!/usr/bin/env node
import { existsSync } from 'node:fs';
// The hub runs its TypeScript sources directly, so a checkout needs no build step.
import { register } from 'tsx/esm/api';

// A .env in the working directory configures the hub like the environment does (which wins).
if (existsSync('.env')) process.loadEnvFile('.env');
register();
await import('../server/cli.ts');
