/**
 * Runs the hook's bats suite (test/hooks/command.bats) inside vitest, so that it runs beside the other test
 * files instead of before them; each bats test that fails is named in the assertion.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from '../support/run-plugin.js';

it('hooks/command passes its bats tests', async () => {
  const child = spawn(join(ROOT, 'node_modules/bats/bin/bats'), ['--tap', join(ROOT, 'test/hooks')], { cwd: ROOT });
  let tap = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (tap += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (tap += d));
  const code = await new Promise((done) => child.on('close', done));
  const failed = tap.split('\n').filter((l) => l.startsWith('not ok'));
  expect(failed, tap).toEqual([]);
  expect(tap).toMatch(/^1\.\.\d+$/m);
  expect(tap.split('\n').filter((l) => l.startsWith('ok ')).length).toBeGreaterThanOrEqual(9);
  expect(code).toBe(0);
});
