// `npm run manifests`: rewrites plugin.yml, action.yml, README.md's generated tables and hooks/command's
// defaults from src/options.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { actionManifest, pluginManifest, withHookDefaults, withReadmeTables } from './manifests.js';

writeFileSync('plugin.yml', pluginManifest());
writeFileSync('action.yml', actionManifest());
writeFileSync('README.md', withReadmeTables(readFileSync('README.md', 'utf8')));
writeFileSync('hooks/command', withHookDefaults(readFileSync('hooks/command', 'utf8')));
console.log('wrote plugin.yml, action.yml, the generated tables of README.md and the defaults of hooks/command');
