import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

const hubBin = fileURLToPath(new URL('../../bin/hub.js', import.meta.url));

export interface HubProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or the signal that ended it). */
  exited: Promise<number | string>;
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

/**
 * Runs a `hub` command as its own process, as a user would from a shell. The environment is the
 * given one only (plus PATH and HOME), so nothing of the test runner's configuration leaks in.
 */
export function runHub(args: string[], env: Record<string, string>, options: { stdin?: string } = {}): HubProcess {
  const child = spawn(process.execPath, [hubBin, ...args], {
    // Away from the checkout, so a developer's .env there cannot configure the hub under test.
    cwd: tmpdir(),
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  // Piped standard input, as `… | hub user create` gives.
  if (options.stdin !== undefined) child.stdin!.end(options.stdin);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return {
    child,
    output: () => output,
    exited,
    async waitForOutput(pattern, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(output)) {
        if (Date.now() > deadline) throw new Error(`hub ${args.join(' ')} never printed ${pattern}; output:\n${output}`);
        if (child.exitCode !== null) throw new Error(`hub ${args.join(' ')} exited with ${child.exitCode}; output:\n${output}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

/** Runs a short `hub` command to completion. */
export async function runHubToEnd(args: string[], env: Record<string, string>, options: { stdin?: string } = {}) {
  const proc = runHub(args, env, options);
  const code = await proc.exited;
  return { code, output: proc.output() };
}
