/**
 * The build's own evidence (SPEC.md steps 2, 5b, 5c), end to end through `hooks/command` against the sim: the
 * Builds API names the build's jobs and runs, every execution is tagged with the job that uploaded it, and
 * Build tests filter by `build.job_id` and `result:^failed` as the real API does. A test is excused as passed on
 * retry only when no final job that did not pass holds nothing but failures of it.
 */
import { describe, expect, it } from 'vitest';
import { startFakeTestEngine, type FakeApiOptions, type FakeFailure, type FakeJob, type FakeRun, type FakeSuite } from '../../sim/fake-test-engine.js';
import { FakeClock } from '../support/fake-clock.js';
import { BUILD_ID, RUN_ID, TOKEN, fakeBuild, fakeRun, runPlugin, runPluginInProcess, useFakeApi } from '../support/run-plugin.js';

const fake = useFakeApi();
const FAST = { 'poll-interval': 0.1, settle: 0, timeout: 10 };

const failure = (id: string, name: string, job: string): FakeFailure => ({ test_id: id, test_name: name, location: `./spec/${id}_spec.rb:3`, failure_reason: `${name} broke`, job_id: job });
const job = (id: string, name: string, state: string, extra: Partial<FakeJob> = {}): FakeJob => ({ id, name, state, exit_status: state === 'passed' ? 0 : 1, ...extra });

async function gate(jobs: FakeJob[], runs: FakeRun[], config: Record<string, unknown> = {}, options: Partial<FakeApiOptions> = {}) {
  const suites: FakeSuite[] = options.suites ? [...options.suites] : [{ slug: 'web', runs, muted: ['muted'] }];
  fake.current = await startFakeTestEngine({ org: 'acme', token: TOKEN, builds: [fakeBuild(jobs)], ...options, suites });
  const r = await runPlugin({ config: { 'api-url': fake.current.url, ...FAST, ...config } });
  const annotations = r.agentCalls.filter((c) => c.args[0] === 'annotate');
  return { ...r, annotations, annotation: annotations[0]?.stdin ?? '', paths: fake.current.requests.map((q) => q.url) };
}

const failedRun = (failures: FakeFailure[], extra: Partial<FakeRun> = {}) => fakeRun([['finished', 'failed']], { failures, ...extra });

describe('retries judged job by job', () => {
  it('a matrix: a test that failed in one final job and passed in another is a failure (exit 1)', async () => {
    const jobs = [job('j33', 'rspec (ruby 3.3)', 'failed'), job('j34', 'rspec (ruby 3.4)', 'passed')];
    const r = await gate(jobs, [failedRun([failure('search', 'Search is fast', 'j33')], { passedOnRetry: ['search'], jobOfPasses: 'j34' })]);
    expect(r.code).toBe(1);
    expect(r.annotation).toMatch(/<strong>Search is fast<\/strong>/);
    expect(r.annotation).not.toContain('Passed on retry');
    expect(r.stdout).toMatch(/web: retries and mutes: 1 failing test without excuse, such as "Search is fast" in job "rspec \(ruby 3\.3\)"/);
    // The build once, the run once, its failures, then Build tests: muted, failing, and the failed job's own list.
    expect(r.paths.filter((p) => p.includes('/tests?'))).toEqual([
      `/v2/analytics/organizations/acme/builds/${BUILD_ID}/tests?tags=result%3A~failed&per_page=100&state=muted`,
      `/v2/analytics/organizations/acme/builds/${BUILD_ID}/tests?tags=result%3A~failed&per_page=100&state=enabled`,
      `/v2/analytics/organizations/acme/builds/${BUILD_ID}/tests?tags=build.job_id%3Aj33%2Cresult%3A%5Efailed&per_page=100&state=enabled`,
    ]);
  });

  it('a job retry whose retry passed: excused (exit 0, info)', async () => {
    const jobs = [job('j1', 'rspec', 'failed', { retried: true, retried_in_job_id: 'j2' }), job('j2', 'rspec', 'passed')];
    const r = await gate(jobs, [failedRun([failure('search', 'Search is fast', 'j1')], { passedOnRetry: ['search'], jobOfPasses: 'j2' })]);
    expect(r.code).toBe(0);
    expect(r.annotations[0]!.args).toContain('info');
    expect(r.annotation).toMatch(/<h4>Passed on retry — 1 test<\/h4>[\s\S]*Search is fast/);
  });

  it('an in-job retry in a job that passed: excused (exit 0)', async () => {
    const jobs = [job('j1', 'rspec', 'passed')];
    const r = await gate(jobs, [failedRun([failure('search', 'Search is fast', 'j1')], { passedOnRetry: ['search'], jobOfPasses: 'j1' })]);
    expect(r.code).toBe(0);
  });

  it('a retry that failed again on another test: that test is a failure, the first passed on retry (exit 1)', async () => {
    const jobs = [job('j1', 'rspec', 'failed', { retried: true, retried_in_job_id: 'j2' }), job('j2', 'rspec', 'failed')];
    const r = await gate(jobs, [failedRun([failure('search', 'Search is fast', 'j1'), failure('cart', 'Cart totals', 'j2')], { passedOnRetry: ['search'], jobOfPasses: 'j2' })]);
    expect(r.code).toBe(1);
    expect(r.annotation).toMatch(/<h4>Failed<\/h4>[\s\S]*<strong>Cart totals<\/strong>[\s\S]*<h4>Passed on retry — 1 test<\/h4>[\s\S]*Search is fast/);
  });

  it('a test that never passed is a failure even when its job was retried (exit 1)', async () => {
    const jobs = [job('j1', 'rspec', 'failed', { retried: true, retried_in_job_id: 'j2' }), job('j2', 'rspec', 'passed')];
    const r = await gate(jobs, [failedRun([failure('cart', 'Cart totals', 'j1')])]);
    expect(r.code).toBe(1);
    expect(r.annotation).toMatch(/<strong>Cart totals<\/strong>/);
  });

  it("a soft-failed job's real failure counts (exit 1)", async () => {
    // The build counts a soft-failed job as passing; whatever state the API gives it, soft_failed decides.
    const jobs = [job('j1', 'rspec (allowed to fail)', 'passed', { soft_failed: true, exit_status: 1 }), job('j2', 'rspec', 'passed')];
    const r = await gate(jobs, [failedRun([failure('search', 'Search is fast', 'j1')], { passedOnRetry: ['search'], jobOfPasses: 'j2' })]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/such as "Search is fast" in job "rspec \(allowed to fail\)"/);
  });

  it('a token without read_builds: no test is excused as passed on retry, the note names the scope, mutes are still excused', async () => {
    const jobs = [job('j1', 'rspec', 'failed', { retried: true }), job('j2', 'rspec', 'passed')];
    const runs = [failedRun([failure('search', 'Search is fast', 'j1'), failure('muted', 'Legacy export', 'j1')], { passedOnRetry: ['search'], jobOfPasses: 'j2' })];
    const r = await gate(jobs, runs, {}, { readBuilds: false });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/The build could not be read: the API token lacks the read_builds scope: add read_builds to it \(the API said: "missing required scope: read_builds"\)/);
    expect(r.annotation).toMatch(/No test is excused as passed on retry&#58; the build could not be read &#40;the API token lacks the read&#95;builds scope/);
    expect(r.annotation).toMatch(/<strong>Search is fast<\/strong>/);
    expect(r.annotation).toMatch(/<h4>Muted — 1 test<\/h4>[\s\S]*Legacy export/);

    const mutedOnly = await gate(jobs, [failedRun([failure('muted', 'Legacy export', 'j1')])], {}, { readBuilds: false });
    expect(mutedOnly.code).toBe(0);

    // Where no failing test passed anywhere, the missing scope changed nothing, and nothing is said of it.
    const plain = await gate(jobs, [failedRun([failure('cart', 'Cart totals', 'j1')])], {}, { readBuilds: false });
    expect(plain.code).toBe(1);
    expect(plain.annotation).not.toContain('No test is excused as passed on retry');
  });
});

describe('every suite of the build', () => {
  it('with suite-slug unset, gates every suite the build names, a late one too', async () => {
    const suites: FakeSuite[] = [
      { slug: 'web', runs: [{ id: 'web-run', buildId: BUILD_ID, timeline: [['finished', 'passed']] }] },
      // Its first upload is processed only after the gate began: the build names it at the second read.
      { slug: 'api', runs: [{ id: 'api-run', buildId: BUILD_ID, timeline: [['finished', 'failed']], failures: [failure('orders', 'Orders API', 'j2')], hiddenForListReads: 1 }] },
      { slug: 'docs', runs: [] },
    ];
    const jobs = [job('j1', 'web tests', 'passed'), job('j2', 'api tests', 'failed')];
    const r = await gate(jobs, [], {}, { suites });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/--- :test_tube: Test Engine gate .*: every suite of web #42 in acme/);
    expect(r.stdout).toMatch(/build 42: running, 3 jobs, Test Engine runs of web/);
    expect(r.stdout).toMatch(/build: 1 more suite with a run in this build: api/);
    expect(r.annotations.map((a) => a.args.at(-1))).toEqual(['test-engine-gate-api']);
    // No runs list: the build names each run.
    expect(r.paths.some((p) => p.includes('/runs?build_id='))).toBe(false);
  });

  it('waits for the build to name a suite, and is inconclusive when none comes', async () => {
    const r = await gate([job('j1', 'tests', 'passed')], [], { timeout: 1 }, { suites: [{ slug: 'web', runs: [] }] });
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/build: no Test Engine run in this build yet/);
    expect(r.annotation).toMatch(/No Test Engine run in this build within 1\.0s/);
    expect(r.paths.filter((p) => p.startsWith('/v2/organizations/acme/pipelines/web/builds/42')).length).toBeGreaterThan(2);
  });
});

describe('jobs that failed without a failed test', () => {
  it('a timed-out job with no results next to a passed run: exit 0, a warning annotation that names it', async () => {
    const jobs = [job('j1', 'rspec', 'passed'), job('j2', 'integration', 'timed_out', { exit_status: -1 })];
    const r = await gate(jobs, [fakeRun([['finished', 'passed']])]);
    expect(r.code).toBe(0);
    expect(r.annotations[0]!.args).toEqual(['annotate', '--style', 'warning', '--context', 'test-engine-gate']);
    expect(r.annotation).toMatch(/<h4>Jobs that failed without a failed test — 1 job<\/h4>/);
    expect(r.annotation).toContain('<li><a href="https://buildkite.com/acme/web/builds/42#j2">integration</a> · timed out, exit status -1 · no test results recorded</li>');
    expect(r.stdout).toMatch(/build: 1 job failed without a failed test: integration/);
  });

  it('a failed job whose recorded tests did not fail is listed as such, beside a real failure', async () => {
    const jobs = [job('j1', 'rspec', 'failed'), job('j2', 'lint', 'failed', { exit_status: 2 })];
    const runs = [failedRun([failure('cart', 'Cart totals', 'j1')], { passedOnRetry: ['other'], executions: [
      { testId: 'cart', name: 'Cart totals', location: null, result: 'failed', jobId: 'j1' },
      { testId: 'style', name: 'Style', location: null, result: 'passed', jobId: 'j2' },
    ] })];
    const r = await gate(jobs, runs);
    expect(r.code).toBe(1);
    expect(r.annotation).toMatch(/lint<\/a> · failed, exit status 2 · its recorded tests did not fail<\/li>/);
    expect(r.annotation).not.toMatch(/rspec<\/a> ·/);
  });
});

describe('settling on the build: decide as soon as no job can still upload', () => {
  /** In this process on a fake clock that is the sim's clock too: schedules move as the gate waits. */
  async function onClock(jobs: FakeJob[], run: FakeRun, config: Record<string, unknown> = {}) {
    const clock = new FakeClock();
    fake.current = await startFakeTestEngine({ org: 'acme', token: TOKEN, suites: [{ slug: 'web', runs: [run] }], builds: [fakeBuild(jobs)], now: () => clock.time });
    const r = await runPluginInProcess({ clock, config: { 'api-url': fake.current.url, 'suite-slug': 'web', timeout: 60, ...config } });
    return { ...r, runReads: fake.current.requests.filter((q) => q.url.endsWith(`/runs/${RUN_ID}`)).length };
  }

  it('every other job done: a finished, passed run is final at once, with no settle wait', async () => {
    const r = await onClock([job('j1', 'rspec', 'passed'), job('j2', 'deploy', 'waiting', { type: 'script' })], fakeRun([['finished', 'passed']]));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/web: finished and passed, and no other job of the build can still upload: final/);
    expect(r.clock.sleeps).toEqual([]); // no settle, no poll
    expect(r.runReads).toBe(1);
  });

  it('a job still running keeps the gate waiting: its failure uploaded after the run read passed makes it exit 1', async () => {
    // The run reads finished and passed; the integration job is still running and uploads a failure at 8 s,
    // after a settle of 5 s would have confirmed the pass; it ends at 9 s.
    const integration = job('j2', 'integration', 'running', { schedule: [[0, 'running'], [9_000, 'failed']] });
    const run = fakeRun([['finished', 'passed']], {
      schedule: [[0, 'finished', 'passed'], [8_000, 'running', 'failed'], [8_500, 'finished', 'failed']],
      failures: [failure('late', 'Checkout over the network', 'j2')],
    });
    const r = await onClock([job('j1', 'rspec', 'passed'), integration], run, { settle: 5 });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/web: finished and passed, but job "integration" \(running\) may still upload results; waiting for it/);
    expect(r.stdout).toMatch(/result passed → failed/);
  });
});
