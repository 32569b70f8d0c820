/**
 * `npm run demo`: a whole build, offline. vitest runs the fixture project (test/fixtures/collector) as two test
 * jobs, with Buildkite's real collector uploading their results to the simulated Test Engine; the job holding a
 * flaky test runs again, as a retried job would (the Builds API shows its first job `retried: true`). Then the
 * gate runs as the plugin does — the real `hooks/command` and bundle: a stand-in `buildkite-agent` mints the
 * suite's OIDC token for the suite's endpoints (`oidc: true`), an API token with read_builds reads the build and
 * its tests, and the agent keeps the annotation it is given. Prints the job log as it happens, then the annotation.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readAgentCalls, writeStandInAgent } from '../sim/agent-stub.js';
import { FIXTURE_JOB_IDS, fixtureBuildJobs, runCollectorJob } from '../sim/collector-jobs.js';
import { startFakeTestEngine } from '../sim/fake-test-engine.js';

const org = 'acme';
const suite = 'web';
const buildId = '0190a3b2-6c1f-7c3e-9a4b-2f1d5e8c7a60';
const uploadToken = 'demo-suite-upload-token-web';
const apiToken = 'bkua_demo_token_with_read_builds_and_read_suites';
const gateJobId = '0190a3b2-0000-4000-8000-00000000c0de';

const sim = await startFakeTestEngine({
  org,
  // For the organization-level reads (the build, its tests); the suite's own endpoints take the agent's OIDC token.
  token: apiToken,
  builds: [
    {
      pipeline: suite,
      number: 42,
      id: buildId,
      state: 'running',
      jobs: [...fixtureBuildJobs(), { id: gateJobId, name: 'Test Engine gate', state: 'running' }],
    },
  ],
  suites: [{ slug: suite, runs: [], uploadToken, mutedNames: ['Orders API returns 404 for an unknown order'] }],
  processingMs: 1_500,
  rateLimit: { orgLimit: 200, userLimit: 50, windowMs: 60_000 },
  latencyMs: 20,
});
const target = { buildId, uploadToken, uploadUrl: `${sim.url}/v1/uploads` };

console.log(`Simulated Test Engine at ${sim.url}: suite "${suite}" of org "${org}"; uploads take 1.5 s to be processed.`);
console.log('In Test Engine, "Orders API returns 404 for an unknown order" is muted.\n');
console.log('──────── test jobs (vitest + buildkite-test-collector) ────────');
const jobs = [
  { id: FIXTURE_JOB_IDS.checkout, label: 'checkout.spec.ts', files: ['checkout.spec.ts'] },
  { id: FIXTURE_JOB_IDS.search, label: 'search.spec.ts', files: ['search.spec.ts'] },
];
await Promise.all(
  jobs.map(async (job) => {
    const { code, output } = await runCollectorJob(job, target);
    console.log(`job ${job.label}: vitest exited ${code}; ${summaryOf(output)}`);
  }),
);
const retry = await runCollectorJob({ id: FIXTURE_JOB_IDS.searchRetry, files: ['search.spec.ts'], retry: 1 }, target);
console.log(`job search.spec.ts, retried: vitest exited ${retry.code}; ${summaryOf(retry.output)}`);

const work = mkdtempSync(join(tmpdir(), 'test-engine-gate-demo-'));
const bin = join(work, 'bin');
const calls = join(work, 'calls');
mkdirSync(bin);
mkdirSync(calls);
writeStandInAgent(bin, calls);

// The gate runs in this repository's own checkout, as a step runs in the build's: its annotation then shows the
// test's own lines relative to the repository, linked at this commit.
const commit = spawnSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).stdout?.trim();

console.log('\n──────── job log of the gate step ────────');
const code = await new Promise<number>((done) => {
  const child = spawn('bash', [resolve('hooks/command')], {
    cwd: process.cwd(), // the agent runs hooks from the build's checkout, not from the plugin
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      HOME: process.env.HOME,
      BUILDKITE: 'true',
      BUILDKITE_ORGANIZATION_SLUG: org,
      BUILDKITE_PIPELINE_SLUG: suite,
      BUILDKITE_BUILD_ID: buildId,
      BUILDKITE_BUILD_NUMBER: '42',
      BUILDKITE_JOB_ID: gateJobId,
      BUILDKITE_API_TOKEN: apiToken,
      BUILDKITE_REPO: 'https://github.com/your-org/test-engine-gate.git',
      ...(commit ? { BUILDKITE_COMMIT: commit } : {}),
      BUILDKITE_PLUGIN_CONFIGURATION: JSON.stringify({ 'api-url': sim.url, oidc: true, 'poll-interval': 0.5, settle: 1, timeout: 60 }),
    },
  });
  child.on('close', (status) => done(status ?? 2));
});
await sim.close();

const agentCalls = readAgentCalls(calls);
const minted = agentCalls.filter((c) => c.args[0] === 'oidc');
const annotation = agentCalls.find((c) => c.args[0] === 'annotate');
console.log(`\n──────── buildkite-agent oidc request-token: called ${minted.length}× (${minted.map((c) => c.args.slice(2).join(' ')).join('; ')}) ────────`);
if (annotation) {
  console.log(`\n──────── buildkite-agent ${annotation.args.join(' ')} ────────`);
  console.log(annotation.stdin);
}
rmSync(work, { recursive: true, force: true });
console.log(`──────── exit status ${code} ────────`);
if (code === 1) {
  console.log('Exit 1: tests failed, so the pipeline stops this change. The flaky test (its job was retried and passed) and the muted test alone would not have.');
  console.log('Other exit codes: 0 passed, 2 a setup error, 3 inconclusive.');
} else {
  console.log(`Expected exit 1 for this build, got ${code}.`);
  process.exitCode = 1;
}

/** vitest's "Tests  3 failed | 4 passed" line, without its colours. */
function summaryOf(output: string): string {
  return /^\s*Tests\s+(\d.*)$/m.exec(output.replace(/\u001b\[[0-9;]*m/g, ''))?.[1]?.trim() ?? 'no summary';
}
