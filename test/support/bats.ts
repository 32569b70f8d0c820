/**
 * Runs one of the hook's bats files (test/hooks/*.bats) inside vitest, so that they run beside the other test
 * files instead of before them; each bats test that fails is named in the assertion.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ROOT } from './run-plugin.js';

export async function expectBatsToPass(file: string, atLeast: number): Promise<void> {
  const child = spawn(join(ROOT, 'node_modules/bats/bin/bats'), ['--tap', join(ROOT, 'test/hooks', file)], { cwd: ROOT });
  let tap = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (tap += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (tap += d));
  const code = await new Promise((done) => child.on('close', done));
  expect(tap.split('\n').filter((l) => l.startsWith('not ok')), tap).toEqual([]);
  expect(tap).toMatch(/^1\.\.\d+$/m);
  expect(tap.split('\n').filter((l) => l.startsWith('ok ')).length).toBeGreaterThanOrEqual(atLeast);
  expect(code).toBe(0);
}
