/**
 * The plugin end to end, against the simulated API on loopback with a recording `buildkite-agent` on PATH.
 * Each scenario asserts the exit code, what was annotated and which requests were made. The main paths run
 * `hooks/command` and the bundle as the agent does (`viaHook`); the rest run `run()` in-process on a fake
 * clock, so that waiting out a timeout takes no real time.
 */
import { describe, expect, it } from 'vitest';
import { startFakeTestEngine, type FakeApiOptions, type FakeRun } from '../../sim/fake-test-engine.js';
import { BUILD_ID, RUN_ID, TOKEN, fakeRun, runPlugin, runPluginInProcess, useFakeApi, type RunOptions } from '../support/run-plugin.js';
import { buildkiteGroups } from '../support/workflow-commands.js';

const fake = useFakeApi();
const run = fakeRun;
const FAST = { 'poll-interval': 0.1, settle: 0.2, timeout: 10 };

async function gate(runs: FakeRun[], config: Record<string, unknown> = {}, options: Partial<FakeApiOptions> = {}, run: RunOptions & { viaHook?: boolean } = {}) {
  fake.current = await startFakeTestEngine({ org: 'acme', token: TOKEN, suites: [{ slug: 'web', runs }], ...options });
  const job = { ...run, config: { 'api-url': fake.current.url, ...FAST, ...config } };
  const result = run.viaHook ? await runPlugin(job) : await runPluginInProcess(job);
  // The Builds API read comes first; these scenarios are about the run, so their paths leave it out.
  const paths = fake.current.requests.filter((r) => !r.url.startsWith('/v2/organizations/')).map((r) => r.url.replace('/v2/analytics/organizations/acme/suites/web', ''));
  return { ...result, paths, api: fake.current };
}

describe('plugin: verdicts', () => {
  it('waits for a run that appears late, confirms the pass and exits 0 without an annotation', async () => {
    const r = await gate([run([['running', 'pending'], ['running', 'passed'], ['finished', 'passed']], { hiddenForListReads: 2 })], {}, {}, { viaHook: true });
    expect(r.code).toBe(0);
    expect(r.paths).toEqual([
      `/runs?build_id=${BUILD_ID}`,
      `/runs?build_id=${BUILD_ID}`,
      `/runs?build_id=${BUILD_ID}`,
      `/runs/${RUN_ID}`,
      `/runs/${RUN_ID}`,
      `/runs/${RUN_ID}`,
    ]);
    expect(r.agentCalls).toEqual([]); // nothing is posted for a pass
    expect(r.stdout).toMatch(/--- :test_tube: Test Engine gate .*: every suite of web #42 in acme/);
    expect(r.stdout).toMatch(/The build could not be read: build 42 of pipeline "web" was not found .*no test is excused as passed on retry/);
    expect(r.stdout).toMatch(/web: no Test Engine run for build .* yet/);
    expect(r.stdout).toMatch(/web: run found: https:\/\/buildkite\.com\/.*runs\/64374307/);
    expect(r.stdout).toMatch(/web: state running → finished \[\d/);
    expect(r.stdout).toMatch(/--- :white_check_mark: Test Engine gate: web passed/);
  });

  it('fails a run whose pass turned into a failure, and annotates the failures (exit 1)', async () => {
    const failures = [
      { test_id: 't1', test_name: 'Cart totals', location: './spec/cart_spec.rb:9', failure_reason: 'expected 90, got 100', test_execution_url: 'https://buildkite.com/e1' },
      { test_id: 't2', test_name: 'Login <form>', failure_reason: 'boom', test_execution_url: 'https://buildkite.com/e2' },
    ];
    const r = await gate([run([['running', 'passed'], ['finished', 'passed'], ['running', 'failed'], ['finished', 'failed']], { failures })], {}, {}, { viaHook: true });
    expect(r.code).toBe(1);
    expect(r.agentCalls).toHaveLength(1);
    const [call] = r.agentCalls;
    expect(call!.args).toEqual(['annotate', '--style', 'error', '--context', 'test-engine-gate']);
    expect(call!.stdin).toContain('<code>web</code> failed — 2 failed tests</h3>');
    // What the reviewer reads without opening anything: why each test failed.
    expect(call!.stdin).toContain('<summary><strong>Cart totals</strong> · <code>spec/cart&#95;spec.rb&#58;9</code> — expected 90, got 100</summary>');
    expect(call!.stdin).not.toMatch(/checked in/);
    expect(call!.stdin).toContain('<strong>Login &lt;form&gt;</strong>');
    expect(r.stdout).toMatch(/\+\+\+ :x: Test Engine gate: web failed — 2 failed tests \(/);
    expect(r.stdout).toMatch(/✗ Cart totals \(spec\/cart_spec\.rb:9\): expected 90, got 100/);
    // Then step 5b: the muted list, and the failing tests of the build (neither test passed on a retry).
    expect(r.paths.slice(-3)).toEqual([
      `/runs/${RUN_ID}/failed_executions?per_page=100&include_failure_expanded=true`,
      `/v2/analytics/organizations/acme/builds/${BUILD_ID}/tests?tags=result%3A~failed&per_page=100&state=muted`,
      `/v2/analytics/organizations/acme/builds/${BUILD_ID}/tests?tags=result%3A~failed&per_page=100&state=enabled`,
    ]);
  });

  it('exits 3 with a warning annotation for a stale run', async () => {
    const r = await gate([run([['running', 'pending'], ['finished', 'stale']])]);
    expect(r.code).toBe(3);
    expect(r.agentCalls[0]!.args).toEqual(['annotate', '--style', 'warning', '--context', 'test-engine-gate']);
    expect(r.agentCalls[0]!.stdin).toMatch(/inconclusive.*stale/s);
  });

  it('exits 3 when no run appears within the timeout', async () => {
    const r = await gate([], { timeout: 1 });
    expect(r.code).toBe(3);
    expect(r.agentCalls[0]!.stdin).toMatch(/No Test Engine run appeared for build 0190a3b2-6c1f-7c3e-9a4b-2f1d5e8c7a60 within 1\.0s/);
    // Polls of the run list, then one Build tests request for the "is suite-slug right?" hint.
    expect(r.paths.slice(0, -1).every((p) => p === `/runs?build_id=${BUILD_ID}`)).toBe(true);
    expect(r.paths.at(-1)).toBe(`/v2/analytics/organizations/acme/builds/${BUILD_ID}/tests?tags=result%3A~failed&per_page=100`);
    expect(r.paths.length).toBeGreaterThan(3);
  });

  it('exits 1 when the timeout comes while a failed run is still running', async () => {
    const r = await gate([run([['running', 'failed']], { failures: 3 })], { timeout: 1 });
    expect(r.code).toBe(1);
    expect(r.agentCalls[0]!.stdin).toContain('failed — 3 failed tests</h3>');
  });

  it.each([
    [250, ['1', '3'], '200 more failures'],
    [100_000, ['1', '1000'], '99,950 more failures'],
  ])('%i failures: counts them exactly from the first and last pages', async (count, pages, more) => {
    const r = await gate([run([['finished', 'failed']], { failures: count })]);
    expect(r.code).toBe(1);
    const body = r.agentCalls[0]!.stdin;
    expect(body).toContain(`failed — at least 50 failed tests, ${count.toLocaleString('en-US')} failed executions</h3>`);
    expect(body).toContain(more);
    expect(body.match(/<details>/g)).toHaveLength(50);
    const failurePages = r.paths.filter((p) => p.includes('failed_executions')).map((p) => new URL(p, 'http://x').searchParams.get('page') ?? '1');
    expect(failurePages).toEqual(pages);
  });

  it('exits 2 with an error annotation for an unknown suite', async () => {
    const r = await gate([], { 'suite-slug': 'nope' });
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/404 Not Found\)[^\n]*\n\s+→ Check org "acme" and suite-slug "nope"/);
    expect(r.agentCalls[0]!.args).toEqual(['annotate', '--style', 'error', '--context', 'test-engine-gate']);
    expect(r.paths).toHaveLength(1);
  });

  it('exits 2 for a rejected token, names the variable, and never prints the token', async () => {
    fake.current = await startFakeTestEngine({ org: 'acme', token: 'the-real-token-that-works-000000', suites: [{ slug: 'web', runs: [] }] });
    const r = await runPlugin({ config: { 'api-url': fake.current.url, ...FAST } });
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/401 Unauthorized.*\$BUILDKITE_API_TOKEN/);
    // The Builds API's 401 is only "the build could not be read"; the suite's own 401 is the verdict.
    expect(fake.current.requests.map((q) => q.status)).toEqual([401, 401]);
    for (const text of [r.stdout, r.stderr, ...r.agentCalls.map((c) => c.stdin + c.args.join(' '))]) expect(text).not.toContain(TOKEN);
  });

  it('exits 2 for a token without read_suites (403), and says which scope it needs', async () => {
    const r = await gate([], {}, { forbidden: true });
    expect(r.code).toBe(2);
    // The API's own words name the scope.
    expect(r.stdout).toMatch(/403 Forbidden\): the token in \$BUILDKITE_API_TOKEN lacks a scope \(read_suites; read_builds for a build\) or access to organization "acme" \(suite "web"\)\. The API said: "missing required scope: read_suites"/);
    expect(r.agentCalls[0]!.args).toEqual(['annotate', '--style', 'error', '--context', 'test-engine-gate']);
    expect(r.paths).toHaveLength(1);
  });

  it('exits 2 on a configuration error before any request', async () => {
    fake.current = await startFakeTestEngine({ org: 'acme', token: TOKEN, suites: [] });
    const r = await runPlugin({ config: { 'api-url': fake.current.url, timeout: 'soon', 'poll-intervall': 1 } });
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/\+\+\+ :octagonal_sign: Test Engine gate: configuration error/);
    expect(r.stdout).toMatch(/Invalid value for "timeout" \(from plugin option "timeout"\): "soon"/);
    expect(r.stdout).toMatch(/Unknown option "poll-intervall".*Did you mean "poll-interval"/);
    expect(fake.current.requests).toHaveLength(0);
    expect(r.stderr).toBe('');
  });

  it('exits 2 and names the variable when the token is missing', async () => {
    const r = await runPluginInProcess({ config: { 'api-url': 'http://127.0.0.1:9', oidc: false }, env: { BUILDKITE_API_TOKEN: undefined } });
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/No API token: the variable BUILDKITE_API_TOKEN is empty or unset.*read_suites/);
    expect(r.agentCalls).toEqual([]); // oidc: false never asks the agent
  });
});

describe('plugin: the job log is safe from test text', () => {
  it('no test name or reason opens a log group or reaches the terminal as an escape, even when the annotation falls back to the log', async () => {
    const forged = '+++ :white_check_mark: Test Engine gate: web passed FORGED';
    const failures = [
      {
        test_id: 't1',
        test_name: `Cart\n${forged}\u001b[31m red\u001b]1339;url=https://evil.example\u0007`,
        location: './spec/cart_spec.rb:9',
        failure_reason: `boom\n${forged}\n--- FORGED\n~~~ FORGED\n^^^ +++\n\u001b[32mgreen\u001b[0m`,
        failure_expanded: [{ expanded: [forged], backtrace: ['--- FORGED frame'] }],
      },
    ];
    // The agent fails, so the annotation's body is printed to the log instead.
    const r = await gate([run([['finished', 'failed']], { failures })], {}, {}, { agent: 1 });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('could not annotate the build');
    expect(buildkiteGroups(r.stdout).filter((g) => g.includes('FORGED') || g === '^^^ +++')).toEqual([]);
    expect(r.stdout).not.toMatch(/\u001b/);
    expect(r.stdout).toContain('FORGED'); // shown, as text
  });
});

describe('plugin: annotations', () => {
  const failedRun = () => run([['finished', 'failed']], { failures: 2 });

  it('prints the annotation to the log when buildkite-agent is missing, keeping the verdict', async () => {
    const r = await gate([failedRun()], {}, {}, { agent: 'missing', viaHook: true });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/could not annotate the build \(buildkite-agent is not on PATH\); the annotation follows, and the verdict stands/);
    expect(r.stdout).toContain('failed — 2 failed tests</h3>');
  });

  it('prints the annotation to the log when buildkite-agent fails', async () => {
    const r = await gate([failedRun()], {}, {}, { agent: 1 });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/could not annotate the build \(buildkite-agent exited 1/);
    expect(r.stdout).toContain('failed — 2 failed tests</h3>');
  });

  it('annotates a pass with style success when always-annotate is set', async () => {
    const r = await gate([run([['finished', 'passed']])], { 'always-annotate': true, context: 'my-gate' });
    expect(r.code).toBe(0);
    expect(r.agentCalls).toEqual([{ args: ['annotate', '--style', 'success', '--context', 'my-gate'], stdin: expect.stringContaining('passed</h3>'), pid: expect.any(Number) }]);
  });

  it('on a retried job that now passes, removes the annotation its earlier attempt left', async () => {
    const r = await gate([run([['finished', 'passed']])], {}, {}, { env: { BUILDKITE_RETRY_COUNT: '1' } });
    expect(r.code).toBe(0);
    expect(r.agentCalls).toEqual([{ args: ['annotation', 'remove', '--context', 'test-engine-gate'], stdin: '', pid: expect.any(Number) }]);
  });

  it('posts nothing with annotate: false', async () => {
    const r = await gate([failedRun()], { annotate: false });
    expect(r.code).toBe(1);
    expect(r.agentCalls).toEqual([]);
  });

  it('gates several suites at once, one context each, and merges the exit codes', async () => {
    fake.current = await startFakeTestEngine({
      org: 'acme',
      token: TOKEN,
      suites: [
        { slug: 'web', runs: [run([['finished', 'passed']])] },
        { slug: 'api', runs: [{ ...failedRun(), id: 'run-api' }] },
      ],
    });
    const r = await runPluginInProcess({ config: { 'api-url': fake.current.url, ...FAST, 'suite-slug': ['web', 'api'], 'always-annotate': true } });
    expect(r.code).toBe(1);
    const contexts = r.agentCalls.map((c) => `${c.args[2]} ${c.args[4]}`).sort();
    expect(contexts).toEqual(['error test-engine-gate-api', 'success test-engine-gate-web']);
  });
});

describe('command line', () => {
  it('prints the annotation Markdown on stdout and the log on stderr', async () => {
    fake.current = await startFakeTestEngine({ org: 'acme', token: TOKEN, suites: [{ slug: 'web', runs: [run([['finished', 'failed']], { failures: 1 })] }] });
    const r = await runPlugin({
      cliArgs: ['--api-url', fake.current.url, '--suite-slug', 'web', '--org', 'acme', '--build-id', BUILD_ID, '--poll-interval', '0.1'],
      env: { BUILDKITE: undefined, BUILDKITE_PIPELINE_SLUG: undefined },
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^<h3>❌ Test Engine: <code>web<\/code> failed — 1 failed test<\/h3>/);
    expect(r.stderr).toMatch(/^== Test Engine gate: web failed/m);
    expect(r.agentCalls).toEqual([]);
  });

  it('--help lists every option and --version prints the version', async () => {
    const help = await runPlugin({ cliArgs: ['--help'] });
    expect(help.code).toBe(0);
    for (const option of ['suite-slug', 'org', 'build-id', 'api-token-env-name', 'api-url', 'timeout', 'poll-interval', 'settle', 'request-timeout', 'max-failures', 'always-annotate']) {
      expect(help.stdout).toContain(`--${option} `);
    }
    expect(help.stdout).not.toContain('--context');
    const version = await runPlugin({ cliArgs: ['--version'] });
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
