/**
 * GitHub's own local runner for actions, as a new user would try it: `npx @github/local-action run . src/main.ts
 * .env` imports src/main.ts with tsx, stubs @actions/core, and calls `run()`. Against the simulated API.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startFakeTestEngine } from '../../sim/fake-test-engine.js';
import { BUILD_ID, ROOT, TOKEN, fakeRun, useFakeApi } from '../support/run-plugin.js';

const fake = useFakeApi();

describe('@github/local-action', () => {
  it('runs the Action from src/main.ts: the verdict, its outputs, and the token masked', async () => {
    fake.current = await startFakeTestEngine({
      org: 'acme',
      token: TOKEN,
      suites: [{ slug: 'web', runs: [fakeRun([['finished', 'failed']], { failures: [{ test_id: 't', test_name: 'Cart totals', failure_reason: 'expected 90' }] })] }],
    });
    const dir = mkdtempSync(join(tmpdir(), 'teg-local-action-'));
    const envFile = join(dir, '.env');
    writeFileSync(
      envFile,
      [`INPUT_SUITE-SLUG=web`, `INPUT_ORG=acme`, `INPUT_BUILD-ID=${BUILD_ID}`, `INPUT_API-TOKEN=${TOKEN}`, `INPUT_API-URL=${fake.current.url}`, `INPUT_SETTLE=0`].join('\n'),
    );
    const child = spawn(process.execPath, [join(ROOT, 'node_modules/@github/local-action/bin/local-action.js'), 'run', '.', 'src/main.ts', envFile], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_PACKAGE_MANAGER: 'npm' },
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    await new Promise((done) => child.on('close', done));
    expect(out).not.toMatch(/does not export a run\(\) function/);
    expect(out).toMatch(/Test Engine gate: web failed — 1 failed test \(/);
    expect(out).toMatch(/│ '?result'?\s*│ '?failed'?/);
    expect(out).toMatch(/│ '?failed-count'?\s*│ '?1'?/);
    expect(out).toContain('::error::web: the run finished with failed tests');
    expect(out.replace(/::add-mask::\S+/g, '')).not.toContain(TOKEN);
    expect(fake.current.requests.length).toBeGreaterThan(0);
  }, 60_000);
});
