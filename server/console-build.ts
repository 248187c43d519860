// Builds the web console (admin/) into admin/dist when the build is missing or older than its
// sources. Run by `npm install` and by `hub start`, so a fresh clone serves the console without a
// separate build step; a production image builds it in its build stage and ships only dist.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const adminDir = fileURLToPath(new URL('../admin/', import.meta.url));
export const consoleDist = join(adminDir, 'dist');
const builtPage = join(consoleDist, 'index.html');

function newestModification(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestModification(join(path, entry)));
  return newest;
}

/** Whether admin/dist is missing or older than admin/src, admin/public, admin/index.html or the Vite config. */
export function consoleBuildIsStale(): boolean {
  if (!existsSync(join(adminDir, 'src'))) return false;
  if (!existsSync(builtPage)) return true;
  const sources = ['src', 'public', 'index.html', 'vite.config.ts'].map((name) => join(adminDir, name)).filter((path) => existsSync(path));
  return Math.max(...sources.map(newestModification)) > statSync(builtPage).mtimeMs;
}

/**
 * Builds the console if it is stale. Answers 'fresh', 'built', or 'unavailable' when Vite is not
 * installed (an install without dev dependencies) so no build can be made here.
 */
export async function ensureConsoleBuilt(log: (line: string) => void = console.log): Promise<'fresh' | 'built' | 'unavailable'> {
  if (!consoleBuildIsStale()) return 'fresh';
  let vite: typeof import('vite');
  try {
    vite = await import('vite');
  } catch {
    log('the console build is missing or stale and Vite is not installed: run `npm install` with dev dependencies to build it');
    return 'unavailable';
  }
  log('building the console into admin/dist');
  await vite.build({ configFile: join(adminDir, 'vite.config.ts'), logLevel: 'warn' });
  return 'built';
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  ensureConsoleBuilt().catch((error: unknown) => {
    console.error(`console build failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
