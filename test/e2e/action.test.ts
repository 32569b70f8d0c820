/**
 * The GitHub Action: `node dist/index.js` with the variables the runner sets (INPUT_* with hyphens kept,
 * GITHUB_ACTIONS, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY) against the simulated API.
 */
import { HtmlRenderer, Parser } from 'commonmark';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeTestEngine, type FakeApiOptions, type FakeFailure, type FakeRun, type FakeSuite, type FakeTestEngine } from '../../sim/fake-test-engine.js';
import { BUILD_ID, BUNDLE, TOKEN, fakeBuild } from '../support/run-plugin.js';
import { startStandInGithub, type StandInGithub } from '../support/github-api.js';
import { workflowCommands } from '../support/workflow-commands.js';

let api: FakeTestEngine | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

const SHA = 'a3f1c2d4e5b6a7980123456789abcdef01234567';

/** The `name<<delimiter … delimiter` records that core.setOutput appends to $GITHUB_OUTPUT. */
function parseOutputs(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const pattern = /^([^<\n]+)<<(\S+)\n([\s\S]*?)\n\2$/gm;
  for (const m of text.matchAll(pattern)) outputs[m[1]!] = m[3]!;
  return outputs;
}

async function runAction(inputs: Record<string, string>, runs: FakeRun[] | FakeSuite[], extraEnv: Record<string, string> = {}, options: Partial<FakeApiOptions> = {}, cwd?: string) {
  const suites = runs.length && 'slug' in runs[0]! ? (runs as FakeSuite[]) : [{ slug: 'web', runs: runs as FakeRun[] }];
  api = await startFakeTestEngine({ org: 'acme', token: TOKEN, suites, ...options });
  const dir = mkdtempSync(join(tmpdir(), 'teg-action-'));
  const outputFile = join(dir, 'output');
  const summaryFile = join(dir, 'summary');
  writeFileSync(outputFile, '');
  writeFileSync(summaryFile, '');
  const env: Record<string, string> = {
    PATH: process.env.PATH!,
    GITHUB_ACTIONS: 'true',
    GITHUB_SHA: SHA,
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    'INPUT_SUITE-SLUG': 'web',
    INPUT_ORG: 'acme',
    'INPUT_API-TOKEN': TOKEN,
    'INPUT_API-URL': api.url,
    'INPUT_POLL-INTERVAL': '0.1',
    INPUT_SETTLE: '0.1',
    INPUT_TIMEOUT: '10',
    ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v])),
    ...extraEnv,
  };
  const child = spawn(process.execPath, [BUNDLE], { cwd: cwd ?? dir, env });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((done) => child.on('close', done));
  const outputs = parseOutputs(readFileSync(outputFile, 'utf8'));
  const summary = readFileSync(summaryFile, 'utf8');
  // The runner's mask commands are the only lines that may carry a token, and they come first.
  const masks = stdout.split('\n').filter((l) => l.startsWith('::add-mask::'));
  if (masks.length) {
    expect(stdout.startsWith(`::add-mask::${TOKEN}\n`)).toBe(true);
    const githubToken = inputs['github-token'];
    expect(masks).toEqual([`::add-mask::${TOKEN}`, ...(githubToken ? [`::add-mask::${githubToken}`] : [])]);
    expect(stdout.startsWith(masks.join('\n'))).toBe(true);
  }
  const printed = stdout.split('\n').filter((l) => !l.startsWith('::add-mask::')).join('\n');
  for (const text of [printed, stderr, summary, JSON.stringify(outputs)]) expect(text).not.toContain(TOKEN);
  return { code, stdout, stderr, outputs, summary, masks, requests: api.requests.map((r) => r.url) };
}

const failures: FakeFailure[] = [
  { test_id: 't1', test_name: 'User validates email', location: './spec/models/user_spec.rb:23', failure_reason: 'expected true\ngot false' },
  { test_id: 't2', test_name: 'LoginForm shows an error', location: 'src/LoginForm.test.tsx:88:20', failure_reason: '100% wrong, a::b' },
  { test_id: 't3', test_name: 'test_checkout_flow[chromium]', location: 'tests/e2e/test_checkout.py::test_checkout_flow[chromium]', failure_reason: 'AssertionError: cart empty\n  at page.click' },
  ...Array.from({ length: 12 }, (_, i) => ({ test_id: `x${i}`, test_name: `extra ${i}`, failure_reason: 'nope' })),
];

describe('GitHub Action', () => {
  it('by build id, a failed run: outputs, summary, ::error lines on the files, a failed step', async () => {
    const r = await runAction({ 'build-id': BUILD_ID }, [{ id: 'run-1', buildId: BUILD_ID, timeline: [['running', 'failed'], ['finished', 'failed']], failures }]);
    expect(r.code).toBe(1);
    expect(r.outputs).toMatchObject({ result: 'failed', state: 'finished', 'run-id': 'run-1', 'failed-count': '15' });
    expect(r.outputs['run-url']).toMatch(/^https:\/\/buildkite\.com\/.*\/runs\/run-1$/);
    expect(JSON.parse(r.outputs.results!)).toEqual([
      expect.objectContaining({ suite: 'web', result: 'failed', runId: 'run-1', failedCount: 15, failedCountExact: true }),
    ]);
    expect(r.summary).toContain('<code>web</code> failed — 15 failed tests</h3>');
    expect(r.summary).toContain('<summary><strong>User validates email</strong> · <code>spec/models/user&#95;spec.rb&#58;23</code> — expected true</summary>');
    // A pytest node id attaches to its file; a multi-line message keeps its line breaks.
    expect(r.stdout).toContain('::error title=web%3A test_checkout_flow[chromium],file=tests/e2e/test_checkout.py::AssertionError: cart empty%0A  at page.click');
    expect(r.stdout).toContain('::error title=web%3A User validates email,file=spec/models/user_spec.rb,line=23::expected true%0Agot false');
    expect(r.stdout).toContain('::error title=web%3A LoginForm shows an error,file=src/LoginForm.test.tsx,line=88::100%25 wrong, a::b');
    // GitHub keeps 10 error annotations a step: the step's own error first, then 9 tests, each once; a notice for the rest.
    const errors = r.stdout.split('\n').filter((l) => l.startsWith('::error'));
    expect(errors[0]).toBe('::error::web: the run finished with failed tests');
    expect(errors).toHaveLength(10);
    expect(r.stdout).toMatch(/^::notice title=Test Engine gate::6 more failed tests: see the job summary/m);
    expect(r.stdout).toMatch(/^::group::Test Engine gate/m);
    expect(r.requests[0]).toBe(`/v2/analytics/organizations/acme/suites/web/runs?build_id=${BUILD_ID}`);
  });

  it('by commit, a passed run: chosen among recent runs and said why', async () => {
    const r = await runAction({}, [
      { id: 'older', buildId: 'b0', commitSha: SHA, timeline: [['finished', 'failed']] },
      { id: 'other', buildId: 'b1', commitSha: 'ffff', timeline: [['finished', 'failed']] },
      { id: 'newest', buildId: 'b2', commitSha: SHA, timeline: [['running', 'passed'], ['finished', 'passed']] },
    ]);
    expect(r.code).toBe(0);
    expect(r.outputs).toMatchObject({ result: 'passed', 'run-id': 'newest', 'failed-count': '0' });
    expect(r.stdout).toMatch(/run found: .*runs\/newest — .*chosen as the newest of the suite's recent runs with commit_sha a3f1c2d4/);
    expect(r.summary).toContain('passed');
    expect(r.stdout).not.toMatch(/^::error/m);
    expect(r.requests[0]).toBe('/v2/analytics/organizations/acme/suites/web/runs?per_page=100');
  });

  it('no run for the commit: inconclusive, exit 3, a failed step that says why', async () => {
    const r = await runAction({ timeout: '1' }, [{ id: 'other', buildId: 'b1', commitSha: 'ffff', timeline: [['finished', 'passed']] }]);
    expect(r.code).toBe(3);
    expect(r.outputs.result).toBe('inconclusive');
    expect(r.stdout).toMatch(/^::error::web: no Test Engine run appeared for commit a3f1c2d4e5b6a7980123456789abcdef01234567 within 1\.0s/m);
  });

  it('a run that failed only on excused tests passes, with flaky-count, muted-count and the sections in the summary', async () => {
    const flaky = { test_id: 'f', test_name: 'Search is fast', failure_reason: 'timeout' };
    const muted = { test_id: 'm', test_name: 'Legacy export', failure_reason: 'boom' };
    const r = await runAction(
      { 'build-id': BUILD_ID, pipeline: 'web', 'build-number': '42' },
      [{ slug: 'web', muted: ['m'], runs: [{ id: 'r', buildId: BUILD_ID, timeline: [['finished', 'failed']], failures: [flaky, muted], passedOnRetry: ['f'] }] }],
      {},
      { builds: [fakeBuild()] },
    );
    expect(r.code).toBe(0);
    expect(r.outputs).toMatchObject({ result: 'passed', 'failed-count': '2', 'flaky-count': '1', 'muted-count': '1' });
    expect(JSON.parse(r.outputs.results!)).toEqual([expect.objectContaining({ suite: 'web', result: 'passed', flakyCount: 1, mutedCount: 1, excused: true })]);
    expect(r.summary).toMatch(/Passed on retry — 1 test[\s\S]*Search is fast[\s\S]*Muted — 1 test[\s\S]*Legacy export/);
    expect(r.stdout).not.toMatch(/^::error/m);
  });

  it('a test that failed in one matrix job and passed in another is a failure: exit 1, flaky-count 0', async () => {
    const jobs = [
      { id: 'j33', name: 'rspec (ruby 3.3)', state: 'failed', exit_status: 1 },
      { id: 'j34', name: 'rspec (ruby 3.4)', state: 'passed', exit_status: 0 },
    ];
    const flaky = { test_id: 'f', test_name: 'Search is fast', failure_reason: 'timeout', job_id: 'j33' };
    const suites = [{ slug: 'web', runs: [{ id: 'r', buildId: BUILD_ID, timeline: [['finished', 'failed']], failures: [flaky], passedOnRetry: ['f'], jobOfPasses: 'j34' }] }] as FakeSuite[];
    const r = await runAction({ 'build-id': BUILD_ID, pipeline: 'web', 'build-number': '42' }, suites, {}, { builds: [fakeBuild(jobs)] });
    expect(r.code).toBe(1);
    expect(r.outputs).toMatchObject({ result: 'failed', 'flaky-count': '0' });
    expect(r.stdout).toMatch(/without excuse, such as "Search is fast" in job "rspec \(ruby 3\.3\)"/);
    expect(r.summary).not.toContain('Passed on retry');

    // Without pipeline and build-number there is no Buildkite build to read: nothing is excused as a retry, and the summary says why.
    const blind = await runAction({ 'build-id': BUILD_ID }, suites, {}, { builds: [fakeBuild(jobs)] });
    expect(blind.code).toBe(1);
    expect(blind.outputs['flaky-count']).toBe('0');
    expect(blind.summary).toMatch(/No test is excused as passed on retry&#58; the build could not be read &#40;this GitHub Actions run names no Buildkite build/);
  });

  it('hostile test names and reasons issue no workflow command, in either form, and the gate\'s own still reach the runner', async () => {
    const hostile = [
      '\u0085::error file=README.md,line=1::FORGED at the start of a line',
      'text ##[error file=README.md;line=1;title=Security notice]FORGED Token leaked: rotate it',
      '##[stop-commands]FORGED',
      '##[add-mask]FORGED',
    ];
    const failures: FakeFailure[] = hostile.map((h, i) => ({ test_id: `t${i}`, test_name: `name ${h}`, location: `spec/x_spec.rb:${i + 1}`, failure_reason: `${h}\nsecond line ${h}`, failure_expanded: [{ expanded: [h], backtrace: [h] }] }));
    const r = await runAction({ 'build-id': BUILD_ID }, [{ id: 'run-1', buildId: BUILD_ID, timeline: [['finished', 'failed']], failures }]);
    expect(r.code).toBe(1);
    const commands = workflowCommands(r.stdout);
    expect(commands.filter((c) => c.form === 'brackets')).toEqual([]);
    expect(commands.map((c) => c.name).filter((n) => !['group', 'endgroup', 'error', 'notice', 'add-mask'].includes(n))).toEqual([]);
    // Every command is at the start of its line, as the gate writes its own; none carries test text but the annotations'.
    for (const c of commands) expect(c.line.startsWith('::')).toBe(true);
    expect(commands.filter((c) => c.name === 'add-mask').map((c) => c.data)).toEqual([TOKEN]);
    // The step's own error comes first and is obeyed; the tests' inline annotations follow.
    expect(commands.find((c) => c.name === 'error')).toMatchObject({ data: 'web: the run finished with failed tests' });
    expect(commands.filter((c) => c.name === 'error')).toHaveLength(5);
  });

  it('hostile Markdown in a reason stays text in the job summary, rendered as GitHub renders it (CommonMark)', async () => {
    const reason = 'expected true\n\n# Security review required\n**Approve this PR now**: [fix](https://evil.example)\n\n- Snapshot\n+ Received';
    const failures: FakeFailure[] = [{ test_id: 't', test_name: 'Checkout', failure_reason: reason, test_execution_url: 'https://buildkite.com/e/1', failure_expanded: [{ expanded: reason.split('\n') }] }];
    const r = await runAction({ 'build-id': BUILD_ID }, [{ id: 'run-1', buildId: BUILD_ID, timeline: [['finished', 'failed']], failures }]);
    const html = new HtmlRenderer({ safe: false }).render(new Parser().parse(r.summary));
    expect(html).not.toMatch(/<h1|<strong>Approve|<a href="https:\/\/evil|<li>Snapshot/);
    expect(html).toContain('# Security review required');
  });

  it('a configuration error writes the job summary with what to fix, and result=error', async () => {
    const r = await runAction({ timeout: 'soon' }, []);
    expect(r.code).toBe(2);
    expect(r.outputs.result).toBe('error');
    expect(r.summary).toMatch(/a configuration error, not a test failure[\s\S]*Invalid value for &quot;timeout&quot;/);
  });

  it('inconclusive advice speaks of continue-on-error and the result output, not soft_fail', async () => {
    const r = await runAction({ timeout: '1', 'build-id': BUILD_ID }, []);
    expect(r.code).toBe(3);
    expect(r.summary).toContain('set continue-on-error&#58; true on the step and read its result output');
    expect(r.summary + r.stdout).not.toContain('soft_fail');
  });

  describe('a check run on the pull request\'s commit', () => {
    const GITHUB_TOKEN = 'ghs_0123456789abcdefghijABCDEFGHIJ012345';
    const PR_SHA = 'b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4';
    let github: StandInGithub | undefined;
    afterEach(async () => {
      await github?.close();
      github = undefined;
    });
    const withChecks = async (runs: FakeRun[] | FakeSuite[], inputs: Record<string, string> = {}) => {
      github ??= await startStandInGithub();
      const r = await runAction({ 'build-id': BUILD_ID, 'github-token': GITHUB_TOKEN, sha: PR_SHA, ...inputs }, runs, { GITHUB_API_URL: github.url, GITHUB_REPOSITORY: 'acme/shop' });
      // The token is masked first, and nowhere else.
      expect(r.masks).toContain(`::add-mask::${GITHUB_TOKEN}`);
      const printed = r.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::')).join('\n');
      expect(printed + r.stderr + r.summary + JSON.stringify(r.outputs)).not.toContain(GITHUB_TOKEN);
      expect(github.requests.every((q) => q.authorization === `Bearer ${GITHUB_TOKEN}`)).toBe(true);
      return { ...r, checks: github.requests };
    };

    it('a failed run: conclusion failure on the given sha, the summary as output, 120 failures as annotations in batches of 50', async () => {
      const many: FakeFailure[] = Array.from({ length: 120 }, (_, i) => ({ test_id: `t${i}`, test_name: `Test ${i}`, location: `spec/t${i}_spec.rb:${i + 1}`, failure_reason: `broke ${i}` }));
      const r = await withChecks([{ id: 'run-1', buildId: BUILD_ID, timeline: [['finished', 'failed']], failures: many }], { 'max-failures': '200' });
      expect(r.code).toBe(1);
      expect(r.checks.map((q) => [q.method, q.url])).toEqual([
        ['POST', '/repos/acme/shop/check-runs'],
        ['PATCH', '/repos/acme/shop/check-runs/1'],
        ['PATCH', '/repos/acme/shop/check-runs/1'],
      ]);
      const created = r.checks[0]!.body as { name: string; head_sha: string; status: string; conclusion: string; output: { summary: string; annotations: unknown[] } };
      expect(created).toMatchObject({ name: 'Test Engine: web', head_sha: PR_SHA, status: 'completed', conclusion: 'failure' });
      expect(created.output.summary).toContain('<code>web</code> failed — 120 failed tests');
      expect(created.output.summary.length).toBeLessThanOrEqual(65_535);
      expect(created.output.annotations[0]).toEqual({ path: 'spec/t0_spec.rb', start_line: 1, end_line: 1, annotation_level: 'failure', title: 'web: Test 0', message: 'broke 0' });
      expect(r.checks.map((q) => ((q.body as { output: { annotations: unknown[] } }).output.annotations.length))).toEqual([50, 50, 20]);
      expect(r.stdout).toMatch(/web: check run "Test Engine: web" on b5c6d7e8f9a0: failure \(https:\/\/github\.com\/acme\/shop\/runs\/1\)/);
    });

    it('a passed run is success, an inconclusive one neutral, a setup error action_required', async () => {
      const passed = await withChecks([{ id: 'r', buildId: BUILD_ID, timeline: [['finished', 'passed']] }]);
      expect(passed.checks.map((q) => q.body.conclusion)).toEqual(['success']);
      await github!.close();
      github = undefined;
      const stale = await withChecks([{ id: 'r', buildId: BUILD_ID, timeline: [['finished', 'stale']] }]);
      expect(stale.checks.map((q) => q.body.conclusion)).toEqual(['neutral']);
      await github!.close();
      github = undefined;
      const unknown = await withChecks([], { 'suite-slug': 'nope' });
      expect(unknown.code).toBe(2);
      expect(unknown.checks.map((q) => q.body.conclusion)).toEqual(['action_required']);
    });

    it('a check run that cannot be created is a log line; the verdict stands', async () => {
      github = await startStandInGithub({ status: 403, message: 'Resource not accessible by integration' });
      const r = await withChecks([{ id: 'r', buildId: BUILD_ID, timeline: [['finished', 'passed']] }]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/web: could not create the check run: POST \/repos\/acme\/shop\/check-runs answered 403: Resource not accessible by integration \(the github-token needs the checks: write permission\)/);
    });
  });

  it('in a checkout: the summary links the project\'s frames, and ::error goes on the first one when the location names no file of it', async () => {
    const checkout = mkdtempSync(join(tmpdir(), 'teg-gh-checkout-'));
    mkdirSync(join(checkout, 'app/models'), { recursive: true });
    writeFileSync(join(checkout, 'app/models/user.rb'), '# the model\n');
    execFileSync('git', ['init', '-q'], { cwd: checkout });
    execFileSync('git', ['add', '.'], { cwd: checkout });
    const failure: FakeFailure = {
      test_id: 't',
      test_name: 'User totals the cart',
      location: 'spec/generated/total_spec.rb:5', // no file of this checkout
      failure_reason: 'expected 90',
      failure_expanded: [{ backtrace: ["/home/runner/work/shop/shop/app/models/user.rb:41:in 'total'", "/opt/hostedtoolcache/gems/rspec-core-3.13.0/lib/rspec/core/example.rb:263:in 'run'"] }],
    };
    const env = { GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'acme/shop' };
    const r = await runAction({ 'build-id': BUILD_ID }, [{ id: 'run-1', buildId: BUILD_ID, timeline: [['finished', 'failed']], failures: [failure] }], env, {}, checkout);
    rmSync(checkout, { recursive: true, force: true });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^::error title=web%3A User totals the cart,file=app\/models\/user\.rb,line=41::expected 90$/m);
    expect(r.summary).toContain(`<a href="https://github.com/acme/shop/blob/${SHA}/app/models/user.rb#L41">app/models/user.rb:41</a>`);
    expect(r.summary).toContain('… 1 frame in gem rspec-core');
  });

  it('several suites: the result output is the worst verdict, the results output has one entry each', async () => {
    const r = await runAction({ 'build-id': BUILD_ID, 'suite-slug': 'web, api', timeout: '1' }, [
      { slug: 'web', runs: [{ id: 'w', buildId: BUILD_ID, timeline: [['finished', 'failed']], failures: [{ test_id: 't', test_name: 'x', failure_reason: 'y' }] }] },
      { slug: 'api', runs: [{ id: 'a', buildId: BUILD_ID, timeline: [['finished', 'stale']] }] },
    ]);
    expect(r.code).toBe(1);
    expect(r.outputs.result).toBe('failed');
    expect(JSON.parse(r.outputs.results!).map((e: { suite: string; result: string }) => [e.suite, e.result])).toEqual([
      ['web', 'failed'],
      ['api', 'stale'],
    ]);
  });

  it('a stale run reports result stale', async () => {
    const r = await runAction({ 'build-id': BUILD_ID }, [{ id: 'r', buildId: BUILD_ID, timeline: [['finished', 'stale']] }]);
    expect(r.code).toBe(3);
    expect(r.outputs.result).toBe('stale');
  });

  it('a configuration error fails the step with one ::error line, before any request', async () => {
    const r = await runAction({ org: '', timeout: 'forever' }, []);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/^::error::2 configuration problems:%0A- Invalid value for "timeout" \(from input "timeout"\): "forever"/m);
    expect(r.stdout).toContain('Missing "org"');
    expect(r.requests).toEqual([]);
  });

  it('takes the token from the variable named by api-token-env-name when api-token is empty, and masks it', async () => {
    const r = await runAction({ 'api-token': '', 'api-token-env-name': 'TE_TOKEN', 'build-id': BUILD_ID }, [{ id: 'r', buildId: BUILD_ID, timeline: [['finished', 'passed']] }], { TE_TOKEN: TOKEN });
    expect(r.code).toBe(0);
    expect(r.masks).toHaveLength(1);
  });

  it('masks the api-token input before anything else is printed', async () => {
    const r = await runAction({ 'build-id': BUILD_ID }, [{ id: 'r', buildId: BUILD_ID, timeline: [['finished', 'passed']] }]);
    expect(r.code).toBe(0);
    expect(r.masks).toHaveLength(1);
  });
});
