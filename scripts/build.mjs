// Bundles src/ into what every form of the gate runs, committed in dist/ (CI rebuilds and diffs it):
// - dist/index.js: the program, minified CommonJS for start-up time, with dist/index.js.map (sources
//   included): `node --enable-source-maps dist/index.js` gives stack traces into src/.
// - dist/actions-core.cjs: @actions/core and its HTTP client, required by index.js only under GitHub Actions,
//   so the Buildkite plugin and the command line never parse it.
// esbuild's output depends only on its own version (package-lock.json) and the inputs: the same source gives
// the same bytes on any machine. .node-version names the Node.js that CI builds and tests with.
import { build } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20.18',
  format: 'cjs',
  minify: true,
  sourcemap: 'linked',
  sourcesContent: true,
  legalComments: 'none',
  logLevel: 'warning',
};

/** `import('@actions/core')` in src/ becomes `require('./actions-core.cjs')`, next to index.js. */
const actionsCoreApart = {
  name: 'actions-core-apart',
  setup(b) {
    b.onResolve({ filter: /^@actions\/core$/ }, () => ({ path: './actions-core.cjs', external: true }));
  },
};

await build({ ...common, entryPoints: { 'actions-core': '@actions/core' }, outdir: 'dist', outExtension: { '.js': '.cjs' } });

// CommonJS, not ESM: Node starts a CommonJS entry without its ESM loader, a tenth of the start-up time.
// dist/package.json says so, so the file keeps its name.
await build({
  ...common,
  entryPoints: ['src/index.ts'],
  outfile: 'dist/index.js',
  define: { __VERSION__: JSON.stringify(version) },
  plugins: [actionsCoreApart],
  // import() as require(): the Action loads actions-core.cjs without starting Node's ESM loader.
  supported: { 'dynamic-import': false },
  banner: { js: '#!/usr/bin/env node' },
});
writeFileSync('dist/package.json', '{ "type": "commonjs" }\n');
