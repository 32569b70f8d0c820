// `npm run manifests`: rewrites plugin.yml, action.yml, README.md's and docs/github-action.md's generated tables and hooks/command's
// defaults from src/options.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { actionManifest, pluginManifest, withActionTables, withHookDefaults, withReadmeTables } from './manifests.js';

writeFileSync('plugin.yml', pluginManifest());
writeFileSync('action.yml', actionManifest());
writeFileSync('README.md', withReadmeTables(readFileSync('README.md', 'utf8')));
writeFileSync('docs/github-action.md', withActionTables(readFileSync('docs/github-action.md', 'utf8')));
writeFileSync('hooks/command', withHookDefaults(readFileSync('hooks/command', 'utf8')));
console.log('wrote plugin.yml, action.yml, the generated tables of README.md and docs/github-action.md, and the defaults of hooks/command');
