/**
 * `npm run demo`: the gate, as a Buildkite plugin, against the simulated Test Engine API. The run appears
 * after a moment, runs, fails, finishes; the real `hooks/command` runs the real bundle, which annotates the
 * build through a stand-in `buildkite-agent` that keeps what it is given. Prints the job log as it happens,
 * then the annotation as Buildkite would receive it.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startFakeTestEngine, type FakeFailure } from '../sim/fake-test-engine.js';

const org = 'acme';
const suite = 'web';
const buildId = '0190a3b2-6c1f-7c3e-9a4b-2f1d5e8c7a60';
const token = 'bkua_demo0000000000000000000000000000000000';
const runId = '64374307-12ab-4b13-a3f3-6a408f644ea2';
const testsUrl = `https://buildkite.com/organizations/${org}/analytics/suites/${suite}/tests`;

const failures: FakeFailure[] = [
  {
    execution_id: 'a1f0e64c-ae4b-470e-b41f-5431205caf06',
    test_id: 'f6cb6c43-df94-4b60-81ed-14f9db7bbfd8',
    test_name: 'Checkout applies a percentage discount code',
    location: './spec/checkout/discount_spec.rb:42',
    failure_reason: 'expected: 90.0\n     got: 100.0\n\n(compared using ==)',
    failure_expanded: [
      {
        expanded: ['Failure/Error: expect(cart.total).to eq(90.0)', '', '  expected: 90.0', '       got: 100.0'],
        backtrace: ["./spec/checkout/discount_spec.rb:42:in 'block (3 levels) in <top (required)>'", "./spec/support/stripe_helper.rb:18:in 'with_stripe'"],
      },
    ],
    duration: 1.284,
    test_execution_url: `${testsUrl}/f6cb6c43?execution_id=a1f0e64c`,
  },
  {
    execution_id: 'b2f0e64c-ae4b-470e-b41f-5431205caf07',
    test_id: '0a1b2c3d-df94-4b60-81ed-14f9db7bbfd9',
    test_name: 'LoginForm > shows an error for a wrong password',
    location: 'src/components/LoginForm.test.tsx:88',
    // Test output is colourful and can contain anything: the annotation shows it as plain, escaped text.
    failure_reason: '\u001b[31mTestingLibraryElementError: Unable to find an element with the text: <strong>Wrong password</strong>\u001b[39m',
    failure_expanded: [{ expanded: ['Ignored nodes: comments, script, style', '<body><div><form aria-label="login">…</form></div></body>'], backtrace: ['at Object.<anonymous> (src/components/LoginForm.test.tsx:88:20)'] }],
    duration: 0.412,
    test_execution_url: `${testsUrl}/0a1b2c3d?execution_id=b2f0e64c`,
  },
  {
    execution_id: 'c3f0e64c-ae4b-470e-b41f-5431205caf08',
    test_id: '1b2c3d4e-df94-4b60-81ed-14f9db7bbfda',
    test_name: 'Orders API returns 404 for an unknown order',
    location: './spec/requests/orders_spec.rb:17',
    failure_reason: 'expected the response to have status code :not_found (404) but it was :internal_server_error (500)',
    duration: 0.233,
    test_execution_url: `${testsUrl}/1b2c3d4e?execution_id=c3f0e64c`,
  },
  {
    execution_id: 'd4f0e64c-ae4b-470e-b41f-5431205caf09',
    test_id: '2c3d4e5f-df94-4b60-81ed-14f9db7bbfdb',
    test_name: 'Inventory sync retries after a timeout',
    location: './spec/jobs/inventory_sync_job_spec.rb:63',
    failure_reason: 'Timeout::Error: execution expired after 5s',
    failure_expanded: [{ expanded: [], backtrace: ["./app/jobs/inventory_sync_job.rb:21:in 'perform'", "./spec/jobs/inventory_sync_job_spec.rb:63:in 'block (2 levels)'"] }],
    duration: 5.003,
    test_execution_url: `${testsUrl}/2c3d4e5f?execution_id=d4f0e64c`,
  },
  // Failed, then passed when its job was retried: excused (flaky-tests: pass), listed apart.
  {
    execution_id: 'e5f0e64c-ae4b-470e-b41f-5431205caf0a',
    test_id: '3d4e5f60-df94-4b60-81ed-14f9db7bbfdc',
    test_name: 'Search suggests products as you type',
    location: './spec/features/search_spec.rb:12',
    failure_reason: 'Capybara::ElementNotFound: Unable to find css ".suggestion"',
    duration: 2.51,
    test_execution_url: `${testsUrl}/3d4e5f60?execution_id=e5f0e64c`,
  },
  // Muted in Test Engine's test state management: excused (muted-tests: pass), listed apart.
  {
    execution_id: 'f6f0e64c-ae4b-470e-b41f-5431205caf0b',
    test_id: '4e5f6071-df94-4b60-81ed-14f9db7bbfdd',
    test_name: 'Legacy CSV export includes archived orders',
    location: './spec/exports/csv_export_spec.rb:88',
    failure_reason: 'expected 12 rows, got 11',
    duration: 0.87,
    test_execution_url: `${testsUrl}/4e5f6071?execution_id=f6f0e64c`,
  },
];

const api = await startFakeTestEngine({
  org,
  token,
  rateLimit: { orgLimit: 200, userLimit: 50, windowMs: 60_000 },
  latencyMs: 40,
  suites: [
    {
      slug: suite,
      muted: ['4e5f6071-df94-4b60-81ed-14f9db7bbfdd'],
      runs: [
        {
          id: runId,
          buildId,
          hiddenForListReads: 2,
          timeline: [
            ['running', 'pending'],
            ['running', 'passed'],
            ['running', 'failed'],
            ['running', 'failed'],
            ['finished', 'failed'],
          ],
          failures,
          passedOnRetry: ['3d4e5f60-df94-4b60-81ed-14f9db7bbfdc'],
        },
      ],
    },
  ],
});

const work = mkdtempSync(join(tmpdir(), 'test-engine-gate-demo-'));
const annotationFile = join(work, 'annotation.md');
const agent = join(work, 'buildkite-agent');
writeFileSync(agent, `#!/usr/bin/env bash\necho "$*" > "${annotationFile}.args"\ncat > "${annotationFile}"\n`);
chmodSync(agent, 0o755);

console.log(`Simulated Test Engine API at ${api.url}: suite "${suite}" of org "${org}"; its run appears, fails, finishes.\nFour tests fail for real; one failed and then passed on a retry, one is muted: those two are excused.\n`);
console.log('──────── job log ────────');
const code = await new Promise<number>((done) => {
  const child = spawn('bash', [resolve('hooks/command')], {
    cwd: work, // the agent runs hooks from the build's checkout, not from the plugin
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      ...process.env,
      PATH: `${work}:${process.env.PATH}`,
      BUILDKITE: 'true',
      BUILDKITE_ORGANIZATION_SLUG: org,
      BUILDKITE_PIPELINE_SLUG: suite,
      BUILDKITE_BUILD_ID: buildId,
      BUILDKITE_API_TOKEN: token,
      BUILDKITE_PLUGIN_CONFIGURATION: JSON.stringify({ 'api-url': api.url, 'poll-interval': 0.5, settle: 1, timeout: 60 }),
    },
  });
  child.on('close', (status) => done(status ?? 2));
});
await api.close();

console.log('\n──────── buildkite-agent ' + readFileSync(`${annotationFile}.args`, 'utf8').trim() + ' ────────');
console.log(readFileSync(annotationFile, 'utf8'));
rmSync(work, { recursive: true, force: true });
console.log(`──────── exit status ${code} ────────`);
if (code === 1) {
  console.log('Exit 1: tests failed, so the pipeline stops this change. (0 passed · 2 error · 3 inconclusive)');
} else {
  console.log(`Expected exit 1 for this run, got ${code}.`);
  process.exitCode = 1;
}
