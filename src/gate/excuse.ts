/**
 * SPEC.md step 5b: a failed run whose every failing test passed on retry or is muted is not a failure of
 * the build. Reads the Build tests API — the muted list first (usually short), then the failing tests page by
 * page, stopping at the first page with an unexcused failure — and excuses only on positive evidence: the
 * excused tests must account for every failed execution the gate read and for the run's failure count.
 */
import { suiteOfTest, type FailureList } from '../api/endpoints.js';
import type { BuildTest, Run } from '../api/schemas.js';
import { ApiError, TransientApiError, describeError } from '../errors.js';
import type { Poll } from './poll.js';

/** Reading Build tests gets at least this long after a run failed, even when `timeout` has run out. */
const EXCUSE_GRACE_MS = 60_000;

export interface ExcusedTest {
  readonly id: string;
  readonly name: string;
  readonly location: string | undefined;
  readonly webUrl: string | undefined;
  readonly failed: number;
  readonly passed: number;
}

export interface Excuses {
  /** Failing tests of this suite that passed on a retry in this build and that `flaky-tests: pass` excuses. */
  readonly flaky: readonly ExcusedTest[];
  /** Failing tests of this suite that test state management has muted and that `muted-tests: pass` excuses. */
  readonly muted: readonly ExcusedTest[];
  /** False when reading stopped at an unexcused failure: the counts above are then lower bounds. */
  readonly complete: boolean;
  /** Why nothing is excused although the lists were meant to be read: unreadable, or short of evidence. */
  readonly note?: string;
}

export type Excusal = { readonly excuses: Excuses; readonly allExcused: boolean };

/** The tests whose failed executions step 5b excused, by test id. */
export function excusedIds(excuses: Excuses | undefined): ReadonlySet<string> {
  return new Set([...(excuses?.flaky ?? []), ...(excuses?.muted ?? [])].map((t) => t.id));
}

export async function excuseFailures(poll: Poll, run: Run, failures: FailureList | undefined): Promise<Excusal | undefined> {
  const { flakyTests, mutedTests, lookup } = poll.settings;
  if (flakyTests === 'fail' && mutedTests === 'fail') return undefined;
  const buildId = run.build_id ?? (lookup.kind === 'build' ? lookup.buildId : undefined);
  const unchecked = (note: string): Excusal => {
    poll.log(note);
    return { excuses: { flaky: [], muted: [], complete: false, note }, allExcused: false };
  };
  if (!buildId) return unchecked('Retries and mutes could not be checked: the run names no build.');

  poll.progress.phase = 'checking retries and mutes';
  const { api } = poll.deps;
  const deadline = Math.max(poll.deadline, poll.now + EXCUSE_GRACE_MS);
  const ofSuite = (tests: readonly BuildTest[]) => tests.filter((t) => suiteOfTest(t) === poll.suite);
  const flaky: ExcusedTest[] = [];
  const muted: ExcusedTest[] = [];
  let unexcused = 0;
  let complete = true;
  try {
    const mutedIds = new Set<string>();
    for await (const page of api.buildTests(buildId, { muted: true }, deadline, poll.suite)) for (const t of ofSuite(page.tests)) mutedIds.add(t.id);
    for await (const page of api.buildTests(buildId, { muted: false }, deadline, poll.suite)) {
      for (const test of ofSuite(page.tests)) {
        // Both muted and passed on retry counts as muted (SPEC.md step 5b).
        if (mutedIds.has(test.id) && mutedTests === 'pass') muted.push(excused(test));
        else if (!mutedIds.has(test.id) && test.executions_count_by_result.passed > 0 && flakyTests === 'pass') flaky.push(excused(test));
        else unexcused++;
      }
      // One unexcused failure decides the verdict: no need to read further.
      if (unexcused > 0 && page.more) complete = false;
      if (unexcused > 0) break;
    }
  } catch (error) {
    if (!(error instanceof ApiError || error instanceof TransientApiError)) throw error;
    return unchecked(`Retries and mutes could not be checked: ${describeError(error, poll.deps.secrets)}`);
  }

  const excuses = { flaky, muted, complete };
  const counts = `${flaky.length} passed on retry, ${muted.length} muted`;
  if (unexcused > 0) {
    poll.log(`retries and mutes: ${complete ? '' : 'at least '}${unexcused} failing test${unexcused === 1 ? '' : 's'} without excuse (${counts}${complete ? '' : ' so far'})`);
    return { excuses, allExcused: false };
  }
  const gap = missingEvidence(poll.suite, [...flaky, ...muted], failures);
  if (gap) {
    poll.log(gap);
    return { excuses: { ...excuses, note: gap }, allExcused: false };
  }
  poll.log(`retries and mutes: every failing test is excused (${counts})`);
  return { excuses, allExcused: true };
}

/** Why the excused tests do not account for the run's failures, or undefined when they do. */
function missingEvidence(suite: string, excusedTests: readonly ExcusedTest[], failures: FailureList | undefined): string | undefined {
  const nothing = 'Retries and mutes excuse nothing';
  if (excusedTests.length === 0) {
    return `${nothing}: the Build tests API lists no failing test of suite "${suite}" for this build (it covers builds up to 24 hours old).`;
  }
  if (!failures) return `${nothing}: the failed executions could not be listed, so the excuses could not be checked against them.`;
  const ids = new Set(excusedTests.map((t) => t.id));
  const unlisted = failures.executions.filter((e) => !e.test_id || !ids.has(e.test_id));
  if (unlisted.length) {
    const example = unlisted[0]!.test_name ? ` (such as "${unlisted[0]!.test_name}")` : '';
    return `${nothing}: the Build tests API does not list ${unlisted.length === 1 ? 'a failing test' : `${unlisted.length} failing tests`} of the run${example}.`;
  }
  const accounted = excusedTests.reduce((n, t) => n + t.failed, 0);
  if (!failures.exact || accounted < failures.total) {
    return `${nothing}: the excused tests account for ${accounted} failed executions and the run has ${failures.exact ? '' : 'at least '}${failures.total}.`;
  }
  return undefined;
}

function excused(test: BuildTest): ExcusedTest {
  return {
    id: test.id,
    name: [test.scope, test.name].filter(Boolean).join(' ') || '(unnamed test)',
    location: test.location ?? undefined,
    webUrl: test.web_url ?? undefined,
    failed: test.executions_count_by_result.failed,
    passed: test.executions_count_by_result.passed,
  };
}

/** The suites with failing results in this build, for the "is suite-slug right?" hint: one request, never an error. */
export async function suitesWithResults(poll: Poll, buildId: string): Promise<string[]> {
  try {
    for await (const page of poll.deps.api.buildTests(buildId, { muted: false }, poll.now + EXCUSE_GRACE_MS, poll.suite)) {
      return [...new Set(page.tests.map(suiteOfTest).filter((s): s is string => s !== undefined))].sort();
    }
  } catch (error) {
    if (!(error instanceof ApiError || error instanceof TransientApiError)) throw error;
  }
  return [];
}
