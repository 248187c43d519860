#!/usr/bin/env node
// The hub runs its TypeScript sources directly, so a checkout needs no build step.
import { register } from 'tsx/esm/api';

register();
await import('../server/cli.ts');
