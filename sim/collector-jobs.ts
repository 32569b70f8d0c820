/**
 * Runs the fixture project's tests (test/fixtures/collector) as a Buildkite job would, with Buildkite's real
 * JavaScript collector uploading the results to a Test Engine — the simulated one — for the demo and the
 * end-to-end tests.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { FakeJob } from './fake-test-engine.js';

/** This repository, found from this file upwards (scripts run it bundled from node_modules/.cache). */
function repositoryRoot(from: string): string {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'test-engine-gate') return dir;
  }
  throw new Error(`test-engine-gate's package.json is not above ${from}`);
}

const ROOT = repositoryRoot(import.meta.dirname);
export const FIXTURE_ROOT = join(ROOT, 'test/fixtures/collector');
const VITEST = join(ROOT, 'node_modules/vitest/vitest.mjs');

export interface CollectorJob {
  /** The Buildkite job's id (BUILDKITE_JOB_ID): Test Engine tags each execution with it. */
  readonly id: string;
  /** Spec files of the fixture project this job runs. */
  readonly files: readonly string[];
  /** The job's retry count: 0 on its first run, 1 when retried. */
  readonly retry?: number;
}

export interface CollectorTarget {
  readonly buildId: string;
  /** The suite's upload token (BUILDKITE_ANALYTICS_TOKEN). */
  readonly uploadToken: string;
  /** The full upload URL, `…/v1/uploads` (BUILDKITE_ANALYTICS_BASE_URL, despite its name). */
  readonly uploadUrl: string;
}

/** One job: `vitest run` on its files; resolves with vitest's exit code and output once the collector uploaded. */
export function runCollectorJob(job: CollectorJob, target: CollectorTarget): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [VITEST, 'run', '--root', FIXTURE_ROOT, ...job.files], {
    cwd: FIXTURE_ROOT,
    // Only what a Buildkite job gives the collector: nothing of this process's own Buildkite variables.
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      CI: 'true',
      NO_COLOR: '1',
      BUILDKITE_BUILD_ID: target.buildId,
      BUILDKITE_JOB_ID: job.id,
      BUILDKITE_RETRY_COUNT: String(job.retry ?? 0),
      BUILDKITE_ANALYTICS_TOKEN: target.uploadToken,
      BUILDKITE_ANALYTICS_BASE_URL: target.uploadUrl,
    },
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
  return new Promise((done) => child.on('close', (code) => done({ code, output })));
}

/** The fixture build's jobs: checkout, search, and search's retry. */
export const FIXTURE_JOB_IDS = {
  checkout: '0190a3b2-0000-4000-8000-0000000000c1',
  search: '0190a3b2-0000-4000-8000-0000000000c2',
  searchRetry: '0190a3b2-0000-4000-8000-0000000000c3',
} as const;

/**
 * The fixture build's jobs as the Builds API shows them once it ran: checkout failed; search failed on its flaky
 * test and was retried (its first job `retried: true`), and the retry passed.
 */
export function fixtureBuildJobs(): FakeJob[] {
  const { checkout, search, searchRetry } = FIXTURE_JOB_IDS;
  return [
    { id: checkout, name: 'vitest checkout.spec.ts', state: 'failed', exit_status: 1 },
    { id: search, name: 'vitest search.spec.ts', state: 'failed', exit_status: 1, retried: true, retried_in_job_id: searchRetry },
    { id: searchRetry, name: 'vitest search.spec.ts', state: 'passed', exit_status: 0 },
  ];
}

/**
 * The fixture build: its two test jobs at once, then the job that holds the flaky test once more, as a retried
 * job would run (so that the build holds two executions of that test: failed, then passed).
 */
export async function runFixtureBuild(target: CollectorTarget): Promise<void> {
  const { checkout, search, searchRetry } = FIXTURE_JOB_IDS;
  await Promise.all([runCollectorJob({ id: checkout, files: ['checkout.spec.ts'] }, target), runCollectorJob({ id: search, files: ['search.spec.ts'] }, target)]);
  await runCollectorJob({ id: searchRetry, files: ['search.spec.ts'], retry: 1 }, target);
}
