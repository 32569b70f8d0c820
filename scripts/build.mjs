// Bundles src/index.ts into the one file every form runs: dist/index.js (committed; CI rebuilds and diffs it).
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

await build({
  entryPoints: ['src/index.ts'],
  outfile: 'dist/index.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20.18',
  legalComments: 'none',
  define: { __VERSION__: JSON.stringify(version) },
  // undici is CommonJS and requires Node's built-ins; an ESM bundle needs a real `require` for that.
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
