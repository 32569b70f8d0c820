// Bundles src/index.ts into the one file every form runs: dist/index.js (committed; CI rebuilds and diffs it).
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const common = { bundle: true, platform: 'node', target: 'node20.18', legalComments: 'none', logLevel: 'warning', define: { __VERSION__: JSON.stringify(version) } };

// @actions/core as CommonJS text, evaluated only under GitHub Actions (src/hosts/load-actions-core.ts).
const actionsCore = await build({
  ...common,
  stdin: { contents: "export * from '@actions/core';", resolveDir: '.', loader: 'js' },
  format: 'cjs',
  write: false,
});

await build({
  ...common,
  entryPoints: ['src/index.ts'],
  outfile: 'dist/index.js',
  format: 'esm',
  define: { ...common.define, __ACTIONS_CORE_SOURCE__: JSON.stringify(actionsCore.outputFiles[0].text) },
  // undici is CommonJS and requires Node's built-ins; an ESM bundle needs a real `require` for that.
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);",
  },
});
