// Bundles src/index.ts into the one file every form runs: dist/index.js (committed; CI rebuilds and diffs it),
// minified for start-up time, with dist/index.js.map (sources included) to read and debug it:
// `node --enable-source-maps dist/index.js` gives stack traces into src/.
import { build } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
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

// CommonJS, not ESM: Node starts a CommonJS entry without its ESM loader, a tenth of the start-up time.
// dist/package.json says so, so the file keeps its name; `import.meta.url` in src/ becomes this file's URL.
await build({
  ...common,
  entryPoints: ['src/index.ts'],
  outfile: 'dist/index.js',
  format: 'cjs',
  minify: true,
  sourcemap: 'linked',
  sourcesContent: true,
  inject: ['scripts/import-meta-url.js'],
  define: { ...common.define, __ACTIONS_CORE_GZIP_BASE64__: JSON.stringify(packed), 'import.meta.url': 'import_meta_url' },
  banner: { js: '#!/usr/bin/env node' },
});
writeFileSync('dist/package.json', '{ "type": "commonjs" }\n');
