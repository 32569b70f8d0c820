// Bundles src/ into what every form of the gate runs, committed in dist/ (CI rebuilds and diffs it):
// - dist/index.js: the program, minified CommonJS for start-up time (Node starts a CommonJS entry without its
//   ESM loader; dist/package.json says so), with dist/index.js.map (sources included):
//   `node --enable-source-maps dist/index.js` gives stack traces into src/.
// - dist/actions-core.cjs: @actions/core and its HTTP client, required by index.js only under GitHub Actions,
//   so the Buildkite plugin and the command line never parse it.
// esbuild's output depends only on its own version (package-lock.json) and the inputs: the same source gives
// the same bytes on any machine. .node-version names the Node.js that CI builds and tests with.
import { build } from 'esbuild';
import { writeFileSync } from 'node:fs';
import { actionsCoreBuild, indexBuild } from './build-options.mjs';

await build(actionsCoreBuild);
await build(indexBuild);
writeFileSync('dist/package.json', '{ "type": "commonjs" }\n');
