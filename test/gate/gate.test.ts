import { describe, expect, it } from 'vitest';
import type { BuildTestPage, BuildTestsQuery, FailureList } from '../../src/api/endpoints.js';
import { RateLimitBudget } from '../../src/api/rate-limit.js';
import type { Build, Run } from '../../src/api/schemas.js';
import { ApiError, CancelledError, TransientApiError } from '../../src/errors.js';
import type { JobEvidence } from '../../src/gate/excuse.js';
import { gateSuite, type GateApi, type GateDeps, type GateSettings } from '../../src/gate/index.js';
import { FailedTestsByJob } from '../../src/gate/job-tests.js';
import { BuildView, type BuildReading } from '../../src/gate/read-build.js';
import { Secrets } from '../../src/secrets.js';
import { FakeClock } from '../support/fake-clock.js';

const run = (state: Run['state'], result: Run['result']): Run => ({ id: 'r1', state, result, web_url: 'https://buildkite.com/r1' });
const FAILURES: FailureList = { executions: [{ test_name: 'a' }], total: 1, exact: true, readTests: new Map([[null, 'a']]) };

/** Answers from scripts: each call takes the next answer; the last one repeats. Errors are thrown. */
export class ScriptedApi implements GateApi {
  readonly calls: string[] = [];
  constructor(
    readonly lists: (Run[] | Error)[],
    readonly runs: (Run | Error)[] = [],
    readonly failures: (FailureList | Error)[] = [FAILURES],
    readonly clock?: FakeClock,
    /** Build tests pages: [muted pages, failing pages, per job]; an Error is thrown at the first page. */
    readonly buildTestPages: { muted: BuildTestPage[] | Error; failing: BuildTestPage[] | Error; jobs?: Record<string, BuildTestPage[]> } = { muted: [], failing: [] },
    readonly build: Build | Error = new ApiError('no build', 404),
  ) {}
  #next<T>(script: (T | Error)[]): T {
    const answer = script.length > 1 ? script.shift()! : script[0]!;
    if (answer instanceof Error) throw answer;
    return answer;
  }
  async findRuns(): Promise<Run[]> {
    this.calls.push(`list@${this.clock?.time ?? ''}`);
    return this.#next(this.lists);
  }
  async getRun(): Promise<Run> {
    this.calls.push(`get@${this.clock?.time ?? ''}`);
    return this.#next(this.runs);
  }
  async failedExecutions(): Promise<FailureList> {
    this.calls.push(`failures@${this.clock?.time ?? ''}`);
    return this.#next(this.failures);
  }
  async getBuild(): Promise<Build> {
    this.calls.push(`build@${this.clock?.time ?? ''}`);
    if (this.build instanceof Error) throw this.build;
    return this.build;
  }
  async *buildTests(_build: string, query: BuildTestsQuery): AsyncGenerator<BuildTestPage> {
    const job = query.tags.find((t) => t.startsWith('build.job_id:'))?.slice('build.job_id:'.length);
    const kind = job ? `job ${job}` : query.state === 'muted' ? 'muted' : 'tests';
    const pages = job ? (this.buildTestPages.jobs?.[job] ?? []) : query.state === 'muted' ? this.buildTestPages.muted : this.buildTestPages.failing;
    for (let i = 0; ; i++) {
      this.calls.push(`${kind}#${i + 1}`);
      if (pages instanceof Error) throw pages;
      const page = pages[i] ?? { tests: [], more: false };
      yield page;
      if (!page.more) return;
    }
  }
}

const SETTINGS: GateSettings = {
  lookup: { kind: 'build', buildId: 'b1' },
  timeoutMs: 60_000,
  pollIntervalMs: 5_000,
  settleMs: 3_000,
  maxFailures: 50,
  flakyTests: 'fail',
  mutedTests: 'fail',
  build: undefined,
  hasApiToken: true,
  jobId: undefined,
  host: 'buildkite',
};

/** Step 5b's evidence from a build reading (a build with these jobs), or from none. */
export function evidenceOf(deps: GateDeps, build?: Build): JobEvidence {
  const reading: BuildReading = build ? { build, at: 0 } : { unavailable: 'no build in this test' };
  return {
    build: new BuildView(reading, async () => reading, undefined),
    failedTests: build ? new FailedTestsByJob(deps.api, build.id, Infinity, 'web') : undefined,
  };
}

function setup(lists: (Run[] | Error)[], runs: (Run | Error)[] = [], failures?: (FailureList | Error)[], budget = new RateLimitBudget()) {
  const clock = new FakeClock();
  const api = new ScriptedApi(lists, runs, failures, clock);
  const lines: string[] = [];
  const controller = new AbortController();
  const deps = { api, clock, budget, signal: controller.signal, log: (l: string) => lines.push(l), secrets: new Secrets() };
  return { clock, api, lines, controller, gate: (settings: Partial<GateSettings> = {}) => gateSuite(deps, { ...SETTINGS, ...settings }, 'web', { phase: 'finding' }, evidenceOf(deps)) };
}

describe('gateSuite', () => {
  it('polls an empty run list until the run appears, then waits for finished and confirms the pass', async () => {
    const { gate, api, clock, lines } = setup(
      [[], [], [run('running', 'pending')]],
      [run('running', 'passed'), run('finished', 'passed'), run('finished', 'passed')],
    );
    const outcome = await gate();
    expect(outcome).toMatchObject({ verdict: 'passed', run: { state: 'finished', result: 'passed' } });
    // First read at once, then one poll interval apart; the pass is confirmed after `settle`.
    expect(api.calls).toEqual(['list@0', 'list@5000', 'list@10000', 'get@15000', 'get@20000', 'get@23000']);
    expect(clock.sleeps).toEqual([5_000, 5_000, 5_000, 5_000, 3_000]);
    expect(lines.join('\n')).toMatch(/no Test Engine run for build b1 yet/);
    expect(lines.join('\n')).toMatch(/state running → finished/);
    expect(lines.join('\n')).toMatch(/confirmed: finished and passed/);
  });

  it('trusts the first finished+passed read when settle is 0', async () => {
    const { gate, api } = setup([[run('finished', 'passed')]]);
    expect((await gate({ settleMs: 0 })).verdict).toBe('passed');
    expect(api.calls).toEqual(['list@0']);
  });

  it('does not believe a pass that flips to failed while settling', async () => {
    const { gate, api } = setup([[run('finished', 'passed')]], [run('running', 'failed'), run('finished', 'failed')]);
    const outcome = await gate();
    expect(outcome.verdict).toBe('failed');
    expect(outcome.failures).toEqual(FAILURES);
    expect(api.calls).toEqual(['list@0', 'get@3000', 'get@8000', 'failures@8000']);
  });

  it('takes a pass seen while running as no verdict at all', async () => {
    const { gate } = setup([[run('running', 'passed')]], [run('running', 'passed'), run('finished', 'failed')]);
    expect((await gate()).verdict).toBe('failed');
  });

  it('keeps waiting for finished after a failed result, and calls it failed when the timeout comes first', async () => {
    const { gate, api, lines } = setup([[run('running', 'failed')]], [run('running', 'failed')]);
    const outcome = await gate({ timeoutMs: 12_000 });
    expect(outcome.verdict).toBe('failed');
    expect(outcome.reason).toMatch(/still running at the timeout; failed is final/);
    expect(api.calls).toEqual(['list@0', 'get@5000', 'get@10000', 'get@12000', 'failures@12000']);
    expect(lines.join('\n')).toMatch(/failed is final/);
  });

  it('is inconclusive when a run without a failure does not finish in time', async () => {
    const { gate } = setup([[run('running', 'passed')]], [run('running', 'passed')]);
    const outcome = await gate({ timeoutMs: 10_000 });
    expect(outcome.verdict).toBe('inconclusive');
    expect(outcome.reason).toMatch(/did not finish within 10s: it is still running, result passed/);
  });

  it('is inconclusive for a run that finished without results, and says so', async () => {
    const { gate } = setup([[run('finished', 'pending')]], [run('finished', 'pending')]);
    const outcome = await gate({ timeoutMs: 10_000 });
    expect(outcome).toMatchObject({ verdict: 'inconclusive', reason: expect.stringMatching(/finished without a result \(result pending\)/) });
  });

  it('is inconclusive for a stale run', async () => {
    const { gate } = setup([[run('running', 'pending')]], [run('finished', 'stale')]);
    expect(await gate()).toMatchObject({ verdict: 'inconclusive', reason: expect.stringMatching(/stale/) });
  });

  it('is inconclusive when no run appears, after polling the list until the timeout', async () => {
    const { gate, api } = setup([[]]);
    const outcome = await gate({ timeoutMs: 20_000 });
    expect(outcome.verdict).toBe('inconclusive');
    expect(outcome.reason).toMatch(/no Test Engine run appeared for build b1 within 20s/);
    // Then one Build tests request, for the "is suite-slug right?" hint.
    expect(api.calls).toEqual(['list@0', 'list@5000', 'list@10000', 'list@15000', 'list@20000', 'tests#1']);
  });

  it('rides out transient errors on the next poll without changing the verdict', async () => {
    const { gate, lines } = setup(
      [new TransientApiError('GET /runs answered 503'), [run('running', 'pending')]],
      [new TransientApiError('unexpected response from GET /runs/r1: not JSON'), run('finished', 'passed')],
    );
    expect((await gate({ settleMs: 0 })).verdict).toBe('passed');
    expect(lines.filter((l) => l.includes('reading again at the next poll'))).toHaveLength(2);
  });

  it('stops at once on a 401/403/404 with an error verdict', async () => {
    const { gate, api } = setup([new ApiError('GET /runs found nothing (404 Not Found)', 404)]);
    const outcome = await gate();
    expect(outcome).toMatchObject({ verdict: 'error', reason: expect.stringMatching(/404/) });
    expect(api.calls).toEqual(['list@0']);
  });

  it('keeps the failed verdict when the failures cannot be listed, and does not retry the listing itself', async () => {
    const error = new TransientApiError('GET /failed_executions answered 502');
    const { gate, api } = setup([[run('finished', 'failed')]], [], [error, FAILURES]);
    const outcome = await gate();
    expect(outcome).toMatchObject({ verdict: 'failed', failuresError: expect.stringMatching(/502/) });
    // The transport retried; the phase asks once.
    expect(api.calls.filter((c) => c.startsWith('failures'))).toHaveLength(1);
  });

  it.each([
    ['running, failed → finished, passed', [run('running', 'failed')], [run('finished', 'passed')]],
    ['finished, failed while settling → passed', [run('finished', 'passed')], [run('running', 'failed'), run('finished', 'passed')]],
  ])('never leaves failed once a read showed it (%s: a lagging replica)', async (_, list, runs) => {
    const { gate, lines } = setup([list], runs);
    const outcome = await gate();
    expect(outcome.verdict).toBe('failed');
    expect(outcome.run?.result).toBe('failed');
    expect(lines.join('\n')).toMatch(/a read said result passed after one said failed; failed is final/);
  });

  it('stretches the poll interval when the rate-limit budget runs low', async () => {
    const budget = new RateLimitBudget();
    budget.update({ 'ratelimit-user-remaining': '2', 'ratelimit-user-reset': '40' }, 0);
    const { gate, clock, lines } = setup([[run('running', 'pending')]], [run('finished', 'passed')], undefined, budget);
    await gate({ settleMs: 0 });
    expect(clock.sleeps[0]).toBe(20_000);
    expect(lines.join('\n')).toMatch(/rate limit: 2 user requests left for 40s; polling every 20s/);
  });

  it('rejects with the cancellation as soon as the signal aborts', async () => {
    const { gate, controller } = setup([[]]);
    controller.abort(new CancelledError('SIGTERM'));
    await expect(gate()).rejects.toBeInstanceOf(CancelledError);
  });
});

describe('excuseFailures (step 5b): sorting and paging', () => {
  const test = (id: string, passed: number, failed = 1) => ({
    id,
    url: `https://api.buildkite.com/v2/analytics/organizations/acme/suites/web/tests/${id}`,
    name: id,
    executions_count_by_result: { passed, failed },
  });
  const failuresOf = (...ids: string[]): FailureList => ({ executions: ids.map((id) => ({ test_id: id, test_name: id })), total: ids.length, exact: true, readTests: new Map(ids.map((id) => [id, id])) });
  const BUILD: Build = { id: 'b1', jobs: [] };

  function excuse(pages: ConstructorParameters<typeof ScriptedApi>[4], failures: FailureList, settings: Partial<GateSettings> = {}, build: Build | undefined = BUILD) {
    const clock = new FakeClock();
    const api = new ScriptedApi([[run('finished', 'failed')]], [], [failures], clock, pages);
    const deps = { api, clock, budget: new RateLimitBudget(), signal: new AbortController().signal, log: () => {}, secrets: new Secrets() };
    return { api, outcome: gateSuite(deps, { ...SETTINGS, flakyTests: 'pass', mutedTests: 'pass', ...settings }, 'web', { phase: 'finding' }, evidenceOf(deps, build)) };
  }

  it('counts a test that is both muted and passed on retry as muted', async () => {
    const pages = { muted: [{ tests: [test('both', 1)], more: false }], failing: [{ tests: [test('both', 1)], more: false }] };
    const { outcome } = excuse(pages, failuresOf('both'));
    expect((await outcome).excuses).toMatchObject({ muted: [{ id: 'both' }], flaky: [] });
    // With muted-tests: fail, being muted excuses nothing, and passing on retry does not excuse it either.
    const strict = excuse(pages, failuresOf('both'), { mutedTests: 'fail' });
    expect((await strict.outcome).verdict).toBe('failed');
  });

  it('stops at the first page with an unexcused failure, and says the counts are lower bounds', async () => {
    const pages = { muted: [], failing: [{ tests: [test('flaky', 1), test('hard', 0)], more: true }, { tests: [test('other', 1)], more: false }] };
    const { api, outcome } = excuse(pages, failuresOf('flaky', 'hard'));
    expect(await outcome).toMatchObject({ verdict: 'failed', excuses: { complete: false, flaky: [{ id: 'flaky' }] } });
    expect(api.calls.filter((c) => c.startsWith('tests'))).toEqual(['tests#1']);
  });

  it('reads on while everything so far is excused, and passes with a reason that says why', async () => {
    const pages = { muted: [{ tests: [test('m', 0)], more: false }], failing: [{ tests: [test('a', 1)], more: true }, { tests: [test('m', 0)], more: false }] };
    const { api, outcome } = excuse(pages, failuresOf('a', 'm'));
    expect(await outcome).toMatchObject({ verdict: 'passed', reason: 'the run failed only on 1 test that passed on retry and 1 muted test', excuses: { complete: true } });
    expect(api.calls.filter((c) => /^(tests|muted)/.test(c))).toEqual(['muted#1', 'tests#1', 'tests#2']);
  });

  it('keeps only the tests of its own suite', async () => {
    const other = { ...test('hard', 0), url: 'https://api.buildkite.com/v2/analytics/organizations/acme/suites/api/tests/hard' };
    const pages = { muted: [], failing: [{ tests: [test('flaky', 1), other], more: false }] };
    expect((await excuse(pages, failuresOf('flaky')).outcome).verdict).toBe('passed');
  });

  it('a test that a failed job lists is a failure even when the failing tests do not list it', async () => {
    const build: Build = { id: 'b1', jobs: [{ id: 'j1', type: 'script', name: 'rspec', state: 'failed' }] };
    const pages = { muted: [], failing: [{ tests: [test('flaky', 1)], more: false }], jobs: { j1: [{ tests: [test('hard', 0)], more: false }] } };
    const outcome = await excuse(pages, failuresOf('flaky'), {}, build).outcome;
    expect(outcome.verdict).toBe('failed');
  });

  it('excuses nothing without an exact failure count to check against', async () => {
    const pages = { muted: [], failing: [{ tests: [test('flaky', 1, 100)], more: false }] };
    const outcome = await excuse(pages, { ...failuresOf('flaky'), total: 100, exact: false }).outcome;
    expect(outcome.verdict).toBe('failed');
    expect(outcome.excuses?.note).toMatch(/account for 100 failed executions and the run has at least 100/);
  });
});
