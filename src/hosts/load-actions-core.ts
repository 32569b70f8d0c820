/**
 * Loads @actions/core only under GitHub Actions. It is bundled apart (scripts/build.mjs) into CommonJS text
 * that dist/index.js carries as a string literal: the Buildkite path scans a string instead of parsing
 * @actions/core and its HTTP client (~0.9 MB), and the Action still runs from the one file.
 */
import { createRequire } from 'node:module';

export type ActionsCore = typeof import('@actions/core');

declare const __ACTIONS_CORE_SOURCE__: string | undefined;

export function loadActionsCore(): ActionsCore {
  if (typeof __ACTIONS_CORE_SOURCE__ !== 'string') {
    throw new Error('@actions/core is available only in the bundle (dist/index.js); run npm run build');
  }
  const module = { exports: {} as ActionsCore };
  new Function('require', 'module', 'exports', __ACTIONS_CORE_SOURCE__)(createRequire(import.meta.url), module, module.exports);
  return module.exports;
}
