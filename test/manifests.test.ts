import { Ajv } from 'ajv';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { actionManifest, pluginManifest, withActionTables, withHookDefaults, withReadmeTables } from '../scripts/manifests.js';
import { DEFAULT_NODE_IMAGE } from '../src/options.js';
import { ROOT } from './support/run-plugin.js';

const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

describe('generated files match src/options.ts (run `npm run manifests` when this fails)', () => {
  it('plugin.yml', () => {
    expect(read('plugin.yml')).toBe(pluginManifest());
  });

  it('action.yml', () => {
    expect(read('action.yml')).toBe(actionManifest());
  });

  it("README.md's options table, and the Action's inputs and outputs in docs/github-action.md", () => {
    const readme = read('README.md');
    expect(withReadmeTables(readme)).toBe(readme);
    const action = read('docs/github-action.md');
    expect(withActionTables(action)).toBe(action);
  });

  it("hooks/command's defaults (minimum Node.js, node image)", () => {
    const hook = read('hooks/command');
    expect(withHookDefaults(hook)).toBe(hook);
  });

  it('README.md stays a README for users (under 30 KB); the engineering notes live in docs/', () => {
    expect(Buffer.byteLength(read('README.md'))).toBeLessThan(30 * 1024);
    for (const doc of ['docs/performance.md', 'docs/how-it-works.md', 'docs/development.md', 'docs/github-action.md']) expect(read('README.md')).toContain(`](${doc})`);
  });

  it('one default node image: plugin.yml, hooks/command and every image the README names', () => {
    expect(parse(read('plugin.yml')).configuration.properties['node-image'].default).toBe(DEFAULT_NODE_IMAGE);
    expect(read('hooks/command')).toContain(`default_node_image="${DEFAULT_NODE_IMAGE}"`);
    const named = [...read('README.md').matchAll(/node:\d+\.\d+\.\d+-alpine[\d.]+/g)].map((m) => m[0]);
    expect(named.length).toBeGreaterThan(0);
    expect(new Set(named)).toEqual(new Set([DEFAULT_NODE_IMAGE]));
    expect(DEFAULT_NODE_IMAGE).toMatch(/^node:24\./);
  });
});

describe('plugin.yml', () => {
  const manifest = parse(read('plugin.yml'));
  const validate = new Ajv({ strict: false }).compile(manifest.configuration);

  it('has the keys Buildkite requires and a configuration that compiles as a JSON schema', () => {
    for (const key of ['name', 'description', 'author', 'requirements', 'configuration']) expect(manifest).toHaveProperty(key);
    expect(manifest.configuration.additionalProperties).toBe(false);
  });

  it('accepts every README example that uses the plugin, at the version in package.json', () => {
    const { version } = JSON.parse(read('package.json'));
    const readme = read('README.md');
    const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parse(m[1]!));
    let checked = 0;
    for (const block of blocks) {
      for (const step of block.steps ?? []) {
        for (const plugin of step.plugins ?? []) {
          for (const [ref, config] of Object.entries(plugin as Record<string, unknown>)) {
            if (!ref.includes('test-engine-gate')) continue;
            expect(ref).toMatch(new RegExp(`test-engine-gate#v${version.replace(/\./g, '\\.')}$`));
            expect(validate(config), JSON.stringify(validate.errors)).toBe(true);
            checked++;
          }
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(2);
  });

  it('rejects what the program rejects: unknown keys, wrong types', () => {
    expect(validate({ 'suite-slug': 'web', timout: 5 })).toBe(false);
    expect(validate({ 'always-annotate': 'yes' })).toBe(false);
    expect(validate({ 'poll-interval': 0.01 })).toBe(false);
    expect(validate({ 'suite-slug': ['web', 'api'], 'poll-interval': 0.5 })).toBe(true);
  });
});
