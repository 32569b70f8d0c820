/**
 * The gate of every suite at once (SPEC.md steps 2–5c): the build is read first (readBuild), then per suite
 * findRun → waitForFinish → listFailures → excuseFailures, each a named phase, and last the jobs that failed
 * without a failed test. Pure apart from what is passed in — the endpoints, the clock, the rate-limit budget, a
 * log function — so unit tests run it against a scripted API and a fake clock.
 */
import { formatSeconds } from '../clock.js';
import { ApiError, CancelledError, GateError } from '../errors.js';
import { plural } from '../plural.js';
import { cleanLine } from '../sanitize.js';
import { EXCUSE_GRACE_MS, excuseFailures, type JobEvidence } from './excuse.js';
import { jobsWithoutFailedTests } from './failed-jobs.js';
import { findRun } from './find-run.js';
import { FailedTestsByJob } from './job-tests.js';
import { listFailures } from './list-failures.js';
import { Poll, type GateDeps, type GateSettings, type SuiteProgress } from './poll.js';
import { BuildView, readBuild, runsOfBuild, type BuildReading } from './read-build.js';
import { goOnAdvice, type SuiteOutcome } from './verdict.js';
import { waitForFinish } from './wait-for-finish.js';

export type { GateApi, GateDeps, GateSettings, SuiteProgress } from './poll.js';

/** Which suites to gate: those listed, or (`fromBuild`) every suite the build names, with `suites` as the fallback. */
export interface SuitePlan {
  readonly suites: readonly string[];
  readonly fromBuild: boolean;
}

/** A read of the build after the wait (the jobs for a verdict, a late suite): one short try. */
const BUILD_REREAD_MS = 5_000;

/** The label of the outcome when the gate waited for the build's suites and none came. */
export const EVERY_SUITE = 'every suite';

/** Every suite concurrently, through one set of deps; `progress` is filled as they go, for an interrupt. */
export async function runGate(deps: GateDeps, settings: GateSettings, plan: SuitePlan, progress: Map<string, SuiteProgress>): Promise<SuiteOutcome[]> {
  const start = deps.clock.now();
  const forSuite = plan.suites[0] ?? EVERY_SUITE;
  const deadline = start + settings.timeoutMs;
  // While waiting, every read ends at the deadline; once a suite decided, a read of the build (its jobs for the
  // verdict, a late suite) gets one short try even past it.
  const read = () => readBuild(deps, settings, deadline, forSuite);
  const reread = () => readBuild(deps, settings, Math.max(deadline, deps.clock.now() + BUILD_REREAD_MS), forSuite);
  let reading = await read();
  describeReading(deps, reading);

  const fromBuild = plan.fromBuild && 'build' in reading;
  let runs = runsOfBuild(reading);
  if (fromBuild && runs.size === 0) {
    // Until the first upload is processed the build names no run: poll it, as politely as a run.
    const p: SuiteProgress = { phase: 'finding' };
    progress.set(EVERY_SUITE, p);
    const poll = new Poll(deps, settings, 'build', p);
    poll.log('no Test Engine run in this build yet; waiting for its first upload to be processed');
    while (runs.size === 0 && !poll.timedOut) {
      await poll.pause();
      reading = await read();
      runs = runsOfBuild(reading);
    }
    progress.delete(EVERY_SUITE);
    if (runs.size === 0) {
      return [
        {
          suite: EVERY_SUITE,
          verdict: 'inconclusive',
          reason: `no Test Engine run in this build within ${formatSeconds(settings.timeoutMs)}`,
          advice: [
            'Check that the test steps upload their results to Test Engine (a test collector, or the tests plugin) and ran in this build.',
            'Name the suites with suite-slug to wait for them by name.',
            goOnAdvice(settings.host),
          ],
          elapsedMs: deps.clock.now() - start,
        },
      ];
    }
  }
  if (!fromBuild && plan.suites.length === 0) {
    const why = 'unavailable' in reading ? reading.unavailable : 'it names no suite';
    return [{ suite: EVERY_SUITE, verdict: 'error', reason: `suite-slug is not set and the build could not be read: ${why}`, advice: ['Set suite-slug to the Test Engine suite(s) to gate on.'], elapsedMs: 0 }];
  }

  const buildId = 'build' in reading ? reading.build.id : settings.lookup.kind === 'build' ? settings.lookup.buildId : undefined;
  const failedTests = 'build' in reading && buildId ? new FailedTestsByJob(deps.api, buildId, start + settings.timeoutMs + EXCUSE_GRACE_MS, forSuite) : undefined;
  const view = new BuildView(reading, reread, settings.jobId);
  const evidence: JobEvidence = { build: view, failedTests };
  const gate = (suite: string) => {
    const p: SuiteProgress = { phase: 'finding' };
    progress.set(suite, p);
    return gateSuite(deps, settings, suite, p, evidence, runs.get(suite), fromBuild ? [] : [...runs.keys()]);
  };

  const outcomes = await Promise.all((fromBuild ? [...runs.keys()] : plan.suites).map(gate));
  if (fromBuild) {
    // A suite whose first upload came late: the build names it once its run exists.
    for (;;) {
      // Read again after the suites decided: one request, the settle read of the build as a whole.
      runs = runsOfBuild(await view.reread());
      const late = [...runs.keys()].filter((suite) => !outcomes.some((o) => o.suite === suite));
      if (late.length === 0) break;
      deps.log(`build: ${plural(late.length, 'more suite')} with a run in this build: ${late.join(', ')}`);
      outcomes.push(...(await Promise.all(late.map(gate))));
    }
  }

  const failedJobs = await jobsWithoutFailedTests(deps, await view.settled(), failedTests, settings.jobId);
  if (failedJobs.length) deps.log(`build: ${plural(failedJobs.length, 'job')} failed without a failed test: ${failedJobs.map((j) => cleanLine(j.name, 100).text).join(', ')}`);
  return failedJobs.length ? outcomes.map((o) => ({ ...o, failedJobs })) : outcomes;
}

/** Once, in the log: what the build says, or why it could not be read and what that costs. */
function describeReading(deps: GateDeps, reading: BuildReading): void {
  if ('unavailable' in reading) {
    deps.log(`The build could not be read: ${reading.unavailable}. Going on without it: no test is excused as passed on retry.`);
    return;
  }
  const { build } = reading;
  const suites = [...runsOfBuild(reading).keys()];
  deps.log(
    `build ${build.number ?? build.id}: ${build.state ?? 'state unknown'}, ${plural(build.jobs?.length ?? 0, 'job')}, ` +
      (suites.length ? `Test Engine runs of ${suites.join(', ')}` : 'no Test Engine run yet'),
  );
}

export async function gateSuite(
  deps: GateDeps,
  settings: GateSettings,
  suite: string,
  progress: SuiteProgress,
  evidence: JobEvidence,
  runId?: string,
  buildSuites: readonly string[] = [],
): Promise<SuiteOutcome> {
  const poll = new Poll(deps, settings, suite, progress);
  const done = (o: Omit<SuiteOutcome, 'suite' | 'elapsedMs'>): SuiteOutcome => {
    progress.phase = 'done';
    return { suite, elapsedMs: poll.now - poll.start, ...o };
  };
  try {
    const found = await findRun(poll, runId, buildSuites);
    if ('outcome' in found) return done(found.outcome);
    const waited = await waitForFinish(poll, found.run, evidence.build);
    if ('outcome' in waited) return done(waited.outcome);

    const run = waited.failed;
    const listing = await listFailures(poll, run);
    const failures = 'failures' in listing ? listing.failures : undefined;
    const listed = failures ? { failures } : { failuresError: 'error' in listing ? listing.error : 'unknown error' };
    const excusal = await excuseFailures(poll, run, failures, evidence);
    if (excusal?.allExcused) {
      const { flaky, muted } = excusal.excuses;
      return done({
        verdict: 'passed',
        run,
        ...listed,
        excuses: excusal.excuses,
        reason: `the run failed only on ${plural(flaky.length, 'test')} that passed on retry and ${plural(muted.length, 'muted test')}`,
      });
    }
    const reason = run.state === 'finished' ? 'the run finished with failed tests' : 'the run has failed tests (still running at the timeout; failed is final)';
    return done({ verdict: 'failed', run, reason, ...listed, ...(excusal ? { excuses: excusal.excuses } : {}) });
  } catch (error) {
    if (error instanceof CancelledError || deps.signal.aborted) throw deps.signal.reason ?? error;
    if (!(error instanceof GateError)) throw error;
    const why = deps.secrets.redact(error.message);
    // Failed is final: no later 401/403/404, nor a failed OIDC re-mint, moves a verdict away from it.
    if (progress.run?.result === 'failed') {
      poll.log(`a later read failed (${why}); the run's result was failed, and failed is final`);
      return done({ verdict: 'failed', run: progress.run, reason: 'the run has failed tests', failuresError: `a later read failed: ${why}` });
    }
    // A 401 under a suite's token may mean the suite does not exist: name those that do, when the build says.
    const named = 'build' in evidence.build.reading ? [...runsOfBuild(evidence.build.reading).keys()].filter((s) => s !== suite) : [];
    const suitesHint = error instanceof ApiError && error.status === 401 && named.length ? [`This build has Test Engine runs of ${named.join(', ')}: is suite-slug ("${suite}") right?`] : [];
    return done({
      verdict: 'error',
      reason: why,
      ...(error.fix || suitesHint.length ? { advice: [...suitesHint, ...(error.fix ? [deps.secrets.redact(error.fix)] : [])] } : {}),
      ...(error.docs ? { docs: error.docs } : {}),
      ...(progress.run ? { run: progress.run } : {}),
    });
  }
}
