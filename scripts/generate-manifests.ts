// `npm run manifests`: rewrites plugin.yml and README.md's options block from src/options.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { pluginManifest, withReadmeOptions } from './manifests.js';

writeFileSync('plugin.yml', pluginManifest());
writeFileSync('README.md', withReadmeOptions(readFileSync('README.md', 'utf8')));
console.log('wrote plugin.yml and the options block of README.md');
