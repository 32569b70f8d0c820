// Runs a TypeScript script (the demo, the benchmark) by bundling it with esbuild into a temporary module.
import { build } from 'esbuild';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [script, ...args] = process.argv.slice(2);
// Inside node_modules, so that the bundle's imports of packages resolve as the script's own would.
mkdirSync('node_modules/.cache', { recursive: true });
const dir = mkdtempSync(resolve('node_modules/.cache/run-ts-'));
const outfile = join(dir, 'script.mjs');
await build({ entryPoints: [resolve(script)], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20.18', packages: 'external', logLevel: 'warning' });
process.argv = [process.argv[0], resolve(script), ...args];
try {
  await import(pathToFileURL(outfile).href);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
