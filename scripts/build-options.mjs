// The esbuild options of the shipped bundle, shared by scripts/build.mjs (which writes dist/) and
// scripts/bench.ts (which measures exactly what ships).
import { readFileSync } from 'node:fs';

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

/** dist/actions-core.cjs: @actions/core and its HTTP client, required by index.js only under GitHub Actions. */
export const actionsCoreBuild = { ...common, entryPoints: { 'actions-core': '@actions/core' }, outdir: 'dist', outExtension: { '.js': '.cjs' } };

/** dist/index.js: the program, for every host. */
export const indexBuild = {
  ...common,
  entryPoints: ['src/index.ts'],
  outfile: 'dist/index.js',
  define: { __VERSION__: JSON.stringify(version) },
  plugins: [actionsCoreApart],
  // import() as require(): the Action loads actions-core.cjs without starting Node's ESM loader.
  supported: { 'dynamic-import': false },
  banner: { js: '#!/usr/bin/env node' },
};
