/**
 * SPEC.md step 5b: a finished, failed run whose every failing test passed on a retry or is muted is not a
 * failure of the build. Judged job by job, as the build itself judges: a test whose every execution failed in a
 * final job that did not pass is a failure, even if it passed in another job (a matrix); a failing test that
 * passed in this build is *passed on retry* only then, and only when the build's jobs could be read. Reads the
 * Build tests API — the muted list, each failing job's failed tests, then the failing tests page by page —
 * stopping at the first unexcused failure, and excuses only on positive evidence: the excused tests must account
 * for every failed execution the gate read and for the run's failure count.
 */
import { suiteOfTest, type FailureList } from '../api/endpoints.js';
import type { Build, BuildTest, Run } from '../api/schemas.js';
import { ApiError, TransientApiError, describeError } from '../errors.js';
import { cleanLine } from '../sanitize.js';
import type { FailedTestsByJob } from './job-tests.js';
import type { Poll } from './poll.js';
import { failingJobs, type BuildView } from './read-build.js';

/** Reading Build tests gets at least this long after a run failed, even when `timeout` has run out. */
export const EXCUSE_GRACE_MS = 60_000;

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

/** What step 5b knows of the build: the build (or why there is none) and its jobs' failed tests. */
export interface JobEvidence {
  readonly build: BuildView;
  readonly failedTests: FailedTestsByJob | undefined;
}

export async function excuseFailures(poll: Poll, run: Run, failures: FailureList | undefined, evidence: JobEvidence): Promise<Excusal | undefined> {
  const { flakyTests, mutedTests, lookup, jobId } = poll.settings;
  if (flakyTests === 'fail' && mutedTests === 'fail') return undefined;
  const unchecked = (note: string): Excusal => {
    poll.log(note);
    return { excuses: { flaky: [], muted: [], complete: false, note }, allExcused: false };
  };
  // The uploads still missing at the timeout are often the slow job's: only a finished run is judged.
  if (run.state !== 'finished') return unchecked('Retries and mutes were not judged: the run was still running at the timeout, and failed is final.');
  const reading = await evidence.build.settled();
  const buildId = ('build' in reading ? reading.build.id : undefined) ?? run.build_id ?? (lookup.kind === 'build' ? lookup.buildId : undefined);
  if (!buildId) return unchecked('Retries and mutes could not be checked: the run names no build.');

  poll.progress.phase = 'checking retries and mutes';
  const { api } = poll.deps;
  const deadline = Math.max(poll.deadline, poll.now + EXCUSE_GRACE_MS);
  const ofSuite = (tests: readonly BuildTest[]) => tests.filter((t) => suiteOfTest(t) === poll.suite);
  // Without the build's jobs a retry cannot be told from another job: nothing is excused as passed on retry.
  const judgeRetries = flakyTests === 'pass' && 'build' in reading && evidence.failedTests !== undefined;
  const retriesNote =
    flakyTests === 'pass' && 'unavailable' in reading
      ? `No test is excused as passed on retry: the build could not be read (${reading.unavailable}), and without its jobs a retry cannot be told from another job.`
      : undefined;
  const flaky: ExcusedTest[] = [];
  const muted: ExcusedTest[] = [];
  const seen = new Set<string>();
  /** A failing test that passed somewhere in the build, which the build's jobs could have shown to be a retry. */
  let unjudgedRetry = false;
  let unexcused = 0;
  let example: string | undefined;
  let complete = true;
  try {
    for await (const page of api.buildTests(buildId, { tags: ['result:~failed'], state: 'muted' }, deadline, poll.suite)) {
      for (const test of ofSuite(page.tests)) {
        if (seen.has(test.id)) continue;
        seen.add(test.id);
        if (mutedTests === 'pass') muted.push(excused(test));
        else [unexcused, example] = [unexcused + 1, example ?? nameOf(test)];
      }
    }
    // A test that never passed is a failure; one that passed somewhere in the build is a candidate for a retry.
    const candidates: BuildTest[] = [];
    if (unexcused === 0) {
      for await (const page of api.buildTests(buildId, { tags: ['result:~failed'], state: 'enabled' }, deadline, poll.suite)) {
        for (const test of ofSuite(page.tests)) {
          if (seen.has(test.id)) continue;
          seen.add(test.id);
          if (judgeRetries && test.executions_count_by_result.passed > 0) candidates.push(test);
          else [unexcused, example, unjudgedRetry] = [unexcused + 1, example ?? nameOf(test), unjudgedRetry || test.executions_count_by_result.passed > 0];
        }
        // One unexcused failure decides the verdict: no need to read further.
        if (unexcused > 0) {
          complete &&= !page.more;
          break;
        }
      }
    }
    // A candidate whose every execution failed in a final job that did not pass is a failure: the job stays red
    // (a matrix), whatever passed elsewhere. Once the verdict is failed, each job's first page is enough.
    const failedInJobs = new Set<string>();
    if (candidates.length > 0) {
      const build = (reading as { build: Build }).build;
      const jobs = failingJobs(build, jobId);
      for (const [n, job] of jobs.entries()) {
        const decided = unexcused > 0;
        for (let i = 0; ; i++) {
          const page = await evidence.failedTests!.page(job.id, i);
          if (!page) break;
          for (const test of ofSuite(page.tests)) {
            if (failedInJobs.has(test.id)) continue;
            failedInJobs.add(test.id);
            if (!decided) example ??= `${nameOf(test)}" in job "${cleanLine(job.name ?? job.id, 200).text}`;
          }
          if (decided || failedInJobs.size > 0) {
            complete &&= !page.more;
            break;
          }
        }
        // Undecided until now, one failure in a job decides: the candidates of later jobs stay unchecked.
        if (!decided && failedInJobs.size > 0) {
          complete &&= n === jobs.length - 1;
          break;
        }
      }
    }
    for (const test of candidates) {
      if (failedInJobs.has(test.id)) unexcused++;
      else flaky.push(excused(test));
    }
    // A test a failed job lists that the failing tests did not (the lists disagree): a failure all the same.
    for (const id of failedInJobs) if (!seen.has(id)) unexcused++;
  } catch (error) {
    if (!(error instanceof ApiError || error instanceof TransientApiError)) throw error;
    const why = describeError(error, poll.deps.secrets);
    // A 404 from an organization-level endpoint the gate just used for the run: the API is not there yet.
    const notThere = error instanceof ApiError && error.status === 404 ? `the Build tests API is not available for this organization (${why})` : why;
    return unchecked(`Retries and mutes could not be checked: ${notThere}`);
  }

  const counts = `${flaky.length} passed on retry, ${muted.length} muted`;
  if (unexcused > 0) {
    // Said where it changed something: a failing test passed elsewhere in the build, and could not be judged.
    const note = unjudgedRetry ? retriesNote : undefined;
    const excuses = { flaky, muted, complete, ...(note ? { note } : {}) };
    if (note) poll.log(note);
    poll.log(`retries and mutes: ${complete ? '' : 'at least '}${unexcused} failing test${unexcused === 1 ? '' : 's'} without excuse, such as "${example}" (${counts}${complete ? '' : ' so far'})`);
    return { excuses, allExcused: false };
  }
  const excuses = { flaky, muted, complete };
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
    return `${nothing}: the Build tests API lists no failing test of suite "${suite}" for this build (its window runs from the build's creation to its finish, at most 24 hours).`;
  }
  if (!failures) return `${nothing}: the failed executions could not be listed, so the excuses could not be checked against them.`;
  if (failures.readTests.size === 0) return `${nothing}: the run lists no failed execution to check the excuses against.`;
  const ids = new Set(excusedTests.map((t) => t.id));
  const unlisted = [...failures.readTests.keys()].filter((id) => id === null || !ids.has(id));
  if (unlisted.length) {
    const named = failures.readTests.get(unlisted[0]!);
    const example = named ? ` (such as "${cleanLine(named, 200).text}")` : '';
    return `${nothing}: the Build tests API does not list ${unlisted.length === 1 ? 'a failing test' : `${unlisted.length} failing tests`} of the run${example}.`;
  }
  // Each test once: an item listed twice must not count its failures twice.
  const accounted = excusedTests.reduce((n, t) => n + t.failed, 0);
  if (!failures.exact || accounted < failures.total) {
    return `${nothing}: the excused tests account for ${accounted} failed executions and the run has ${failures.exact ? '' : 'at least '}${failures.total}.`;
  }
  return undefined;
}

function nameOf(test: BuildTest): string {
  return cleanLine([test.scope, test.name].filter(Boolean).join(' ') || test.id, 200).text;
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

/** The hint's one short try: it comes after the timeout, and must not hold the verdict back. */
const HINT_MS = 5_000;

/** The suites with failing results in this build, for the "is suite-slug right?" hint: one request, never an error. */
export async function suitesWithResults(poll: Poll, buildId: string): Promise<string[]> {
  try {
    for await (const page of poll.deps.api.buildTests(buildId, { tags: ['result:~failed'] }, poll.now + HINT_MS, poll.suite)) {
      return [...new Set(page.tests.map(suiteOfTest).filter((s): s is string => s !== undefined))].sort();
    }
  } catch (error) {
    if (!(error instanceof ApiError || error instanceof TransientApiError)) throw error;
  }
  return [];
}
