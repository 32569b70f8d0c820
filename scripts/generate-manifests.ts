// `npm run manifests`: rewrites plugin.yml, action.yml and README.md's generated tables from src/options.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { actionManifest, pluginManifest, withReadmeTables } from './manifests.js';

writeFileSync('plugin.yml', pluginManifest());
writeFileSync('action.yml', actionManifest());
writeFileSync('README.md', withReadmeTables(readFileSync('README.md', 'utf8')));
console.log('wrote plugin.yml, action.yml and the generated tables of README.md');
