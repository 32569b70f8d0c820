// Bundles src/index.ts into the one file every form runs: dist/index.js (committed; CI rebuilds and diffs it),
// minified for start-up time, with dist/index.js.map (sources included) to read and debug it:
// `node --enable-source-maps dist/index.js` gives stack traces into src/.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const common = { bundle: true, platform: 'node', target: 'node20.18', legalComments: 'none', logLevel: 'warning', define: { __VERSION__: JSON.stringify(version) } };

// @actions/core as gzipped CommonJS text, unpacked and evaluated only under GitHub Actions
// (src/hosts/load-actions-core.ts). Compressed, it is a quarter of the bytes every start must read.
const actionsCore = await build({
  ...common,
  stdin: { contents: "export * from '@actions/core';", resolveDir: '.', loader: 'js' },
  format: 'cjs',
  minify: true,
  write: false,
});
const packed = gzipSync(actionsCore.outputFiles[0].contents, { level: 9 }).toString('base64');

await build({
  ...common,
  entryPoints: ['src/index.ts'],
  outfile: 'dist/index.js',
  format: 'esm',
  minify: true,
  sourcemap: 'linked',
  sourcesContent: true,
  define: { ...common.define, __ACTIONS_CORE_GZIP_BASE64__: JSON.stringify(packed) },
  // undici is CommonJS and requires Node's built-ins; an ESM bundle needs a real `require` for that.
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);",
  },
});
