/**
 * Never wrong at the edges: the defects a review reproduced on the landed bundle, one regression test each,
 * against the simulated API. Most run the program in this process on a fake clock (the HTTP is real); the
 * cases about real time (a body that trickles, an agent that hangs) run it through the hook.
 */
import { describe, expect, it } from 'vitest';
import { startFakeTestEngine, type FakeApiOptions, type FakeFailure, type FakeJob, type Fault } from '../../sim/fake-test-engine.js';
import { BUILD_ID, RUN_ID, TOKEN, fakeBuild, fakeRun, runPlugin, runPluginInProcess, until, useFakeApi } from '../support/run-plugin.js';

const fake = useFakeApi();
const FAST = { 'suite-slug': 'web', 'poll-interval': 0.1, settle: 0, timeout: 10 };
const BUILD_TESTS = `/v2/analytics/organizations/acme/builds/${BUILD_ID}/tests`;
/** A build whose test job failed, was retried, and passed: a test that failed there and passed in the retry is excusable. */
const RETRIED: FakeJob[] = [
  { id: 'j1', name: 'rspec', state: 'failed', retried: true, retried_in_job_id: 'j2' },
  { id: 'j2', name: 'rspec', state: 'passed' },
];
const failure = (id: string, name: string, extra: Partial<FakeFailure> = {}): FakeFailure => ({ test_id: id, test_name: name, failure_reason: `${name} broke`, job_id: 'j1', ...extra });
const item = (id: string, failed: number, passed: number) => ({ id, url: `http://x/v2/analytics/organizations/acme/suites/web/tests/${id}`, name: id, executions_count_by_result: { passed, failed } });

async function inProcess(options: Partial<FakeApiOptions>, config: Record<string, unknown> = {}) {
  fake.current = await startFakeTestEngine({ org: 'acme', token: TOKEN, suites: [], builds: [fakeBuild(RETRIED)], ...options });
  const r = await runPluginInProcess({ config: { 'api-url': fake.current.url, ...FAST, ...config } });
  return { ...r, annotation: r.agentCalls.find((c) => c.args[0] === 'annotate')?.stdin ?? '' };
}

describe('verdicts at the edges', () => {
  it('1. a run still running at the timeout with excusable failures so far is failed, not passed', async () => {
    const runs = [fakeRun([['running', 'failed']], { failures: [failure('flaky', 'Search is fast')], passedOnRetry: ['flaky'], jobOfPasses: 'j2' })];
    const r = await inProcess({ suites: [{ slug: 'web', runs }] }, { timeout: 2 });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/Retries and mutes were not judged: the run was still running at the timeout/);
    expect(r.annotation).not.toContain('Passed on retry');
  });

  it('2a. an excuse is not made of repetition: a test listed twice counts once, and every failing test read must be excused', async () => {
    // A failed 50 times and passed on a retry; B failed once and never passed. Build tests lists A twice, B never.
    const failures = [...Array.from({ length: 50 }, () => failure('A', 'A')), failure('B', 'B')];
    const runs = [fakeRun([['finished', 'failed']], { failures, passedOnRetry: ['A'], jobOfPasses: 'j2' })];
    const twice: Fault = { match: /state=enabled/, fault: { kind: 'body', body: JSON.stringify([item('A', 50, 1), item('A', 50, 1)]) } };
    const r = await inProcess({ suites: [{ slug: 'web', runs }], faults: [twice] }, { 'max-failures': 1 });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/Retries and mutes excuse nothing: the Build tests API does not list a failing test of the run \(such as "B"\)/);
  });

  it('2a. each test counts once: a test listed twice does not double its failures', async () => {
    const runs = [fakeRun([['finished', 'failed']], { failures: [failure('A', 'A'), failure('A', 'A')], passedOnRetry: ['A'], jobOfPasses: 'j2' })];
    const twice: Fault = { match: /state=enabled/, fault: { kind: 'body', body: JSON.stringify([item('A', 1, 1), item('A', 1, 1)]) } };
    const r = await inProcess({ suites: [{ slug: 'web', runs }], faults: [twice] });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/excuse nothing: the excused tests account for 1 failed executions and the run has 2/);
  });

  it('2a. the excuses are held against every execution read, not only those shown (max-failures 1)', async () => {
    // The API's count for A covers the run's total, but B's execution, read past the first, is nobody's.
    const runs = [fakeRun([['finished', 'failed']], { failures: [failure('A', 'A'), failure('B', 'B')], passedOnRetry: ['A'], jobOfPasses: 'j2' })];
    const overcount: Fault = { match: /state=enabled/, fault: { kind: 'body', body: JSON.stringify([item('A', 2, 1)]) } };
    const r = await inProcess({ suites: [{ slug: 'web', runs }], faults: [overcount] }, { 'max-failures': 1 });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/does not list a failing test of the run \(such as "B"\)/);
  });

  it('2b. a failed run with no failed execution read excuses nothing', async () => {
    const runs = [fakeRun([['finished', 'failed']], { failures: [] })];
    const flaky: Fault = { match: /state=enabled/, fault: { kind: 'body', body: JSON.stringify([item('A', 1, 1)]) } };
    const r = await inProcess({ suites: [{ slug: 'web', runs }], faults: [flaky] });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/Retries and mutes excuse nothing: the run lists no failed execution to check the excuses against/);
  });

  it('4. after failed was seen, a later 404 keeps the verdict failed, with the error as a note', async () => {
    const runs = [fakeRun([['running', 'failed']], { failures: [failure('cart', 'Cart totals')] })];
    const gone: Fault = { match: new RegExp(`/runs/${RUN_ID}$`), fault: { kind: 'status', status: 404, body: JSON.stringify({ message: 'Not Found' }) } };
    const r = await inProcess({ suites: [{ slug: 'web', runs }], faults: [gone], builds: [] });
    expect(r.code).toBe(1);
    expect(r.annotation).toMatch(/<h3>❌ Test Engine: <code>web<\/code> failed<\/h3>/);
    expect(r.annotation).toMatch(/could not be listed \(a later read failed&#58; GET .*404 Not Found/);
    expect(r.stdout).toMatch(/web: a later read failed \(.*404 Not Found.*\); the run's result was failed, and failed is final/);
  });

  it('5. failures whose later pages fail are shown as far as they were read, counted "at least"', async () => {
    const runs = [fakeRun([['finished', 'failed']], { failures: 250 })];
    const later: Fault = { match: /failed_executions.*page=2/, fault: { kind: 'status', status: 500 } };
    const r = await inProcess({ suites: [{ slug: 'web', runs }], faults: [later] }, { 'max-failures': 150, 'flaky-tests': 'fail', 'muted-tests': 'fail' });
    expect(r.code).toBe(1);
    expect(r.annotation).toMatch(/failed — at least 100 failed tests, at least 100 failed executions<\/h3>/);
    expect(r.annotation).toMatch(/<p>Not every failure could be listed \(GET .*page=2.* answered 500/);
    expect(r.annotation.match(/<details>/g)).toHaveLength(100);
  });

  it('6. the excused sections count against the size budget: 200 long-named excused tests stay within 256 KB', async () => {
    // Names that escaping makes five times longer: every character an entity.
    const name = (i: number) => `${i} ${'<&>"'.repeat(75)}`;
    const failures = Array.from({ length: 200 }, (_, i) => failure(`t${i}`, name(i), { location: `spec/${'&'.repeat(290)}_spec.rb:1` }));
    const muted = Array.from({ length: 100 }, (_, i) => `t${i}`);
    const runs = [fakeRun([['finished', 'failed']], { failures, passedOnRetry: Array.from({ length: 100 }, (_, i) => `t${i + 100}`), jobOfPasses: 'j2' })];
    const r = await inProcess({ suites: [{ slug: 'web', runs, muted }] });
    expect(r.code).toBe(0);
    expect(Buffer.byteLength(r.annotation)).toBeLessThanOrEqual(256 * 1024);
    expect(r.annotation).toMatch(/<h4>Passed on retry — 100 tests<\/h4>[\s\S]*<li>… and \d+ more<\/li>[\s\S]*<h4>Muted — 100 tests<\/h4>[\s\S]*<li>… and \d+ more<\/li>/);
  });

  it('7. the settle wait ends at the deadline (timeout 1, settle 12)', async () => {
    const r = await inProcess({ suites: [{ slug: 'web', runs: [fakeRun([['finished', 'passed']])] }] }, { timeout: 1, settle: 12 });
    expect(r.code).toBe(0);
    expect(Math.max(...r.clock.sleeps)).toBeLessThanOrEqual(1_000);
    expect(r.clock.time).toBeLessThanOrEqual(1_000);
  });

  it('7. the suite hint after the timeout is one short try, not a minute of retries', async () => {
    const failing: Fault = { match: /\/tests\?/, fault: { kind: 'status', status: 500 } };
    const r = await inProcess({ suites: [{ slug: 'web', runs: [] }], faults: [failing], builds: [] }, { timeout: 1 });
    expect(r.code).toBe(3);
    expect(r.clock.time).toBeLessThanOrEqual(1_000 + 5_000);
  });

  it('7. waiting for the build to name a suite ends at the deadline, even while its reads fail', async () => {
    // The first read names no suite yet; every later one answers 503, which the transport would retry for a minute.
    const failing: Fault = { match: /\/pipelines\/web\/builds\/42/, after: 1, fault: { kind: 'status', status: 503 } };
    const r = await inProcess({ suites: [{ slug: 'web', runs: [] }], faults: [failing] }, { 'suite-slug': undefined, 'poll-interval': 0.5, timeout: 2 });
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/build: no Test Engine run in this build yet/);
    expect(r.clock.time).toBeLessThanOrEqual(2_000 + 1_000);
  });

  it('8. a confirming read that fails at the timeout says the pass is unconfirmed, not that nothing was processed', async () => {
    const confirm: Fault = { match: new RegExp(`/runs/${RUN_ID}$`), fault: { kind: 'status', status: 502 } };
    const r = await inProcess({ suites: [{ slug: 'web', runs: [fakeRun([['finished', 'passed']])] }], faults: [confirm], builds: [] }, { timeout: 1, settle: 1 });
    expect(r.code).toBe(3);
    expect(r.annotation).toMatch(/The run read finished and passed, but the read that would confirm it failed, so the pass is unconfirmed; the last read failed&#58; GET .* answered 502/);
    expect(r.annotation).not.toMatch(/processed no test results|&quot;\.;/);
  });

  it('9. api-url with credentials is refused, and the password is never printed', async () => {
    const r = await runPluginInProcess({ config: { ...FAST, 'api-url': 'https://:s3cr3t-pw@api.example.com' } });
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/Invalid value for "api-url" .*"https:\/\/\[credentials\]@api\.example\.com"\. Expected an https URL .* without credentials: the token goes only in the Authorization header/);
    expect(r.stdout + r.stderr).not.toContain('s3cr3t-pw');
  });
});

describe('real time at the edges', () => {
  it('3. a body that trickles in is abandoned at request-timeout as a whole, and the gate ends at its timeout', async () => {
    fake.current = await startFakeTestEngine({
      org: 'acme',
      token: TOKEN,
      suites: [{ slug: 'web', runs: [fakeRun([['running', 'pending']])] }],
      faults: [{ match: /runs\?build_id=/, fault: { kind: 'trickle', everyMs: 500 } }],
    });
    const r = await runPlugin({ config: { 'api-url': fake.current.url, 'suite-slug': 'web', timeout: 3, 'request-timeout': 1, 'poll-interval': 0.5 }, env: { BUILDKITE_BUILD_NUMBER: undefined } });
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/the response body did not complete within request-timeout; retrying/);
    // Before the fix it ran until killed; a loaded machine adds seconds, never minutes.
    expect(r.ms).toBeLessThan(20_000);
  }, 30_000);

  it('9. an interrupt while buildkite-agent oidc request-token hangs ends the agent too, and says what was known', async () => {
    fake.current = await startFakeTestEngine({ org: 'acme', token: 'a-token-the-gate-does-not-have-00', suites: [{ slug: 'web', runs: [] }] });
    const r = await runPlugin({
      config: { 'api-url': fake.current.url, 'suite-slug': 'web', timeout: 60 },
      env: { BUILDKITE_API_TOKEN: undefined },
      oidc: 'hang',
      // With no API token the first request mints at once; by then the stand-in agent hangs.
      onStart: (child) => void setTimeout(() => child.kill('SIGTERM'), 1_500),
    });
    expect(r.code).toBe(143);
    expect(r.stdout).toMatch(/Test Engine gate interrupted by SIGTERM/);
    expect(r.stdout).toMatch(/web: finding; no run found yet/);
    const mint = r.agentCalls.find((c) => c.args[0] === 'oidc')!;
    expect(mint).toBeDefined();
    await until(() => !isAlive(mint.pid), 3_000);
  }, 30_000);
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
