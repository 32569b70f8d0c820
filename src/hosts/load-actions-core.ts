/**
 * Loads @actions/core only under GitHub Actions. It is bundled apart (scripts/build.mjs) into CommonJS text,
 * gzipped, that dist/index.js carries as a base64 string literal: the Buildkite path scans ~0.2 MB of string
 * instead of parsing @actions/core and its HTTP client (~0.9 MB), and the Action still runs from the one file.
 */
import { createRequire } from 'node:module';

export type ActionsCore = typeof import('@actions/core');

declare const __ACTIONS_CORE_GZIP_BASE64__: string | undefined;

export function loadActionsCore(): ActionsCore {
  if (typeof __ACTIONS_CORE_GZIP_BASE64__ !== 'string') {
    throw new Error('@actions/core is available only in the bundle (dist/index.js); run npm run build');
  }
  // node:zlib is required here, not imported: the Buildkite path never loads it.
  const require = createRequire(import.meta.url);
  const { gunzipSync } = require('node:zlib') as typeof import('node:zlib');
  const source = gunzipSync(Buffer.from(__ACTIONS_CORE_GZIP_BASE64__, 'base64')).toString('utf8');
  const module = { exports: {} as ActionsCore };
  new Function('require', 'module', 'exports', source)(require, module, module.exports);
  return module.exports;
}
