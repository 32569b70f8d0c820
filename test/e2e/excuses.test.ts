/**
 * Step 5b end to end: the gate against the simulated API, whose Build tests endpoint is derived from the same
 * runs and failed executions it serves. Each case asserts the exit code, the Build tests requests made, and
 * the words the reader sees in the annotation and the log.
 */
import { describe, expect, it } from 'vitest';
import { startFakeTestEngine, type FakeApiOptions, type FakeFailure, type FakeSuite, type Fault } from '../../sim/fake-test-engine.js';
import { BUILD_ID, RUN_ID, TOKEN, fakeBuild, fakeRun, runPluginInProcess, useFakeApi } from '../support/run-plugin.js';

const fake = useFakeApi();
const FAST = { 'suite-slug': 'web', 'poll-interval': 0.1, settle: 0, timeout: 10 };
const BUILD_TESTS = `/v2/analytics/organizations/acme/builds/${BUILD_ID}/tests`;

const failure = (id: string, name: string, extra: Partial<FakeFailure> = {}): FakeFailure => ({
  test_id: id,
  test_name: name,
  location: `./spec/${id}_spec.rb:3`,
  failure_reason: `${name} broke`,
  test_execution_url: `https://buildkite.com/e/${id}`,
  ...extra,
});
const HARD = failure('hard', 'Cart totals');
const FLAKY = failure('flaky', 'Search is fast');
const MUTED = failure('muted', 'Legacy export');

async function gate(suites: FakeSuite[], config: Record<string, unknown> = {}, faults: Fault[] = [], api: Partial<FakeApiOptions> = {}) {
  fake.current = await startFakeTestEngine({ org: 'acme', token: TOKEN, suites, faults, builds: [fakeBuild()], ...api });
  const r = await runPluginInProcess({ config: { 'api-url': fake.current.url, ...FAST, ...config } });
  const buildTests = fake.current.requests.filter((q) => q.url.startsWith(BUILD_TESTS)).map((q) => q.url.slice(BUILD_TESTS.length));
  return { ...r, buildTests, annotation: r.agentCalls[0] };
}

const web = (failures: FakeFailure[] | number, extra: Partial<Parameters<typeof fakeRun>[1]> = {}, muted: string[] = []): FakeSuite => ({
  slug: 'web',
  muted,
  runs: [fakeRun([['finished', 'failed']], { failures, ...extra })],
});

describe('step 5b: tests that passed on retry and muted tests', () => {
  it('passes a run that failed only on a test that passed on retry, with an info annotation that lists it', async () => {
    const r = await gate([web([FLAKY], { passedOnRetry: ['flaky'] })]);
    expect(r.code).toBe(0);
    expect(r.annotation!.args).toEqual(['annotate', '--style', 'info', '--context', 'test-engine-gate']);
    expect(r.annotation!.stdin).toMatch(/passed — the run failed only on excused tests/);
    expect(r.annotation!.stdin).toMatch(/<h4>Passed on retry — 1 test<\/h4>[\s\S]*Search is fast.* · 1 failed \/ 1 passed/);
    expect(r.stdout).toMatch(/the run failed only on 1 test that passed on retry and 0 muted tests/);
    expect(r.buildTests).toEqual(['?tags=result%3A~failed&per_page=100&state=muted', '?tags=result%3A~failed&per_page=100&state=enabled']);
  });

  it('passes a run that failed only on a muted test', async () => {
    const r = await gate([web([MUTED], {}, ['muted'])]);
    expect(r.code).toBe(0);
    expect(r.annotation!.stdin).toMatch(/<h4>Muted — 1 test<\/h4>[\s\S]*Legacy export/);
    expect(r.stdout).toMatch(/0 tests that passed on retry and 1 muted test/);
  });

  it('fails with three sections when hard, flaky and muted failures meet', async () => {
    const r = await gate([web([HARD, FLAKY, MUTED], { passedOnRetry: ['flaky'] }, ['muted'])]);
    expect(r.code).toBe(1);
    const body = r.annotation!.stdin;
    expect(r.annotation!.args).toContain('error');
    expect(body).toMatch(/<h4>Failed<\/h4>[\s\S]*<strong>Cart totals<\/strong>[\s\S]*<h4>Passed on retry — 1 test<\/h4>[\s\S]*<h4>Muted — 1 test<\/h4>/);
    // The excused tests are not among the detailed failures.
    expect(body).not.toMatch(/<strong>Search is fast<\/strong>|<strong>Legacy export<\/strong>/);
    expect(r.stdout).toMatch(/✗ Cart totals/);
    expect(r.stdout).not.toMatch(/✗ Search is fast/);
    // The log's verdict title counts what the annotation's heading counts: the one failure nothing excuses.
    expect(r.stdout).toMatch(/:x: Test Engine gate: web failed — 1 failed test \(/);
  });

  it('ignores the failures of other suites in the same build', async () => {
    const api: FakeSuite = { slug: 'api', runs: [{ id: 'api-run', buildId: BUILD_ID, timeline: [['finished', 'failed']], failures: [failure('api-hard', 'API breaks')] }] };
    const r = await gate([web([FLAKY], { passedOnRetry: ['flaky'] }), api]);
    expect(r.code).toBe(0);
  });

  it('excuses nothing when the Build tests list is empty for the suite', async () => {
    const r = await gate([web([FLAKY], { passedOnRetry: ['flaky'] })], {}, [{ match: /\/builds\/.*\/tests/, fault: { kind: 'body', body: '[]' } }]);
    expect(r.code).toBe(1);
    expect(r.annotation!.stdin).toMatch(/Retries and mutes excuse nothing&#58; the Build tests API lists no failing test of suite &quot;web&quot;/);
  });

  it('excuses nothing when the Build tests list misses a failing test of the run', async () => {
    const onlyFlaky = JSON.stringify([
      { id: 'flaky', url: 'http://x/v2/analytics/organizations/acme/suites/web/tests/flaky', name: 'Search is fast', executions_count_by_result: { passed: 1, failed: 1 } },
    ]);
    const r = await gate([web([HARD, FLAKY], { passedOnRetry: ['flaky'] })], {}, [{ match: /\/builds\/.*\/tests/, fault: { kind: 'body', body: onlyFlaky } }]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/Retries and mutes excuse nothing: the Build tests API does not list a failing test of the run \(such as "Cart totals"\)/);
  });

  it('excuses nothing when the excused tests account for fewer failed executions than the run has', async () => {
    // Two failed executions of the flaky test, but Build tests counts one.
    const countsOne = JSON.stringify([
      { id: 'flaky', url: 'http://x/v2/analytics/organizations/acme/suites/web/tests/flaky', name: 'Search is fast', executions_count_by_result: { passed: 1, failed: 1 } },
    ]);
    const r = await gate([web([FLAKY, FLAKY], { passedOnRetry: ['flaky'] })], {}, [{ match: /\/builds\/.*\/tests/, fault: { kind: 'body', body: countsOne } }]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/excuse nothing: the excused tests account for 1 failed executions and the run has 2/);
  });

  it('never reads Build tests when both options are fail', async () => {
    const r = await gate([web([FLAKY], { passedOnRetry: ['flaky'] }, ['flaky'])], { 'flaky-tests': 'fail', 'muted-tests': 'fail' });
    expect(r.code).toBe(1);
    expect(r.buildTests).toEqual([]);
  });

  it('counts a test that passed on retry as a failure with flaky-tests: fail', async () => {
    const r = await gate([web([FLAKY], { passedOnRetry: ['flaky'] })], { 'flaky-tests': 'fail' });
    expect(r.code).toBe(1);
    expect(r.annotation!.stdin).toMatch(/<strong>Search is fast<\/strong>/);
  });

  it.each([
    [404, /the Build tests API is not available for this organization \(GET .*\/tests.*404 Not Found/],
    [403, /GET .*\/tests.*403 Forbidden/],
  ])('stays failed when Build tests answers %i, and says retries and mutes could not be checked', async (status, why) => {
    const r = await gate([web([FLAKY], { passedOnRetry: ['flaky'] })], {}, [{ match: /\/builds\/.*\/tests/, fault: { kind: 'status', status } }]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`Retries and mutes could not be checked: ${why.source}`));
    expect(r.annotation!.stdin).toMatch(/<p>Retries and mutes could not be checked&#58; /);
  });

  it('stays failed when Build tests answers in its older format, and says so without retrying', async () => {
    // Before 2026-08: items with a state, labels as objects, no url.
    const older = JSON.stringify([{ id: 'flaky', name: 'Search is fast', state: 'enabled', labels: [{ name: 'flaky', color: '#f00' }], executions_count_by_result: { passed: 1, failed: 1 } }]);
    const r = await gate([web([FLAKY], { passedOnRetry: ['flaky'] })], {}, [{ match: /\/builds\/.*\/tests/, fault: { kind: 'body', body: older } }]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/Retries and mutes could not be checked: GET .*\/tests: this organization's Build tests API answers in an older format/);
    expect(r.buildTests).toHaveLength(1); // never retried
  });

  it('takes no evidence from items that do not match the filter asked for', async () => {
    const stray = JSON.stringify([{ id: 'flaky', url: 'http://x/v2/analytics/organizations/acme/suites/web/tests/flaky', name: 'Search is fast', executions_count_by_result: { passed: 1, failed: 0 } }]);
    const r = await gate([web([FLAKY], { passedOnRetry: ['flaky'] })], {}, [{ match: /state=enabled/, fault: { kind: 'body', body: stray } }]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/could not be checked: GET .*\/tests: the Build tests API listed a test that does not match result:~failed \(0 failed, 1 passed\)/);
  });

  it('stops after the first page when it holds an unexcused failure (10 000 failing tests)', async () => {
    const r = await gate([web(10_000)]);
    expect(r.code).toBe(1);
    expect(r.buildTests).toEqual(['?tags=result%3A~failed&per_page=100&state=muted', '?tags=result%3A~failed&per_page=100&state=enabled']);
    expect(r.stdout).toMatch(/at least 100 failing tests without excuse/);
  });

  it('reads every page while all is excused (1 000 tests that passed on retry), then passes', async () => {
    const r = await gate([web(1_000, { passedOnRetry: 'all' })]);
    expect(r.code).toBe(0);
    expect(r.buildTests).toHaveLength(11); // the muted list, then 10 pages of 100
    expect(r.annotation!.stdin).toMatch(/Passed on retry — 1,000 tests/);
  });

  it('a server whose links carry page alone: the filters and page size come back on every page', async () => {
    const r = await gate([web(1_000, { passedOnRetry: 'all' })], {}, [], { pageOnlyLinks: true });
    expect(r.code).toBe(0);
    expect(r.buildTests).toHaveLength(11);
    for (const q of r.buildTests) expect(q).toMatch(/tags=result%3A(~|%7E)failed.*per_page=100.*state=(muted|enabled)/);
  });

  it('a server that serves 50 a page: the exact count all the same', async () => {
    const r = await gate([web(250)], { 'max-failures': 120, 'flaky-tests': 'fail', 'muted-tests': 'fail' }, [], { maxPerPage: 50 });
    expect(r.code).toBe(1);
    expect(r.annotation!.stdin).toMatch(/failed — at least 120 failed tests, 250 failed executions<\/h3>/);
    expect(r.annotation!.stdin).toMatch(/130 more failures — <a href/);
  });

  it('stays failed when a read says passed after one said failed', async () => {
    const r = await gate([{ slug: 'web', runs: [fakeRun([['running', 'failed'], ['finished', 'passed']], { failures: [HARD] })] }]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/a read said result passed after one said failed; failed is final/);
  });

  it('names the suites that have results in this build when no run appears for suite-slug', async () => {
    const api: FakeSuite = { slug: 'web-rspec', runs: [{ id: RUN_ID, buildId: BUILD_ID, timeline: [['finished', 'failed']], failures: [failure('x', 'X')] }] };
    const r = await gate([{ slug: 'web', runs: [] }, api], { timeout: 1 });
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/This build has test results in suite web-rspec: is suite-slug \("web"\) right\?/);
    expect(r.annotation!.stdin).toMatch(/web-rspec/);
  });
});
