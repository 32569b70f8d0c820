/**
 * The gate of every suite at once (SPEC.md steps 2–5b): per suite, findRun → waitForFinish → listFailures →
 * excuseFailures, each a named phase. Pure apart from what is passed in — the endpoints, the clock, the
 * rate-limit budget, a log function — so unit tests run it against a scripted API and a fake clock.
 */
import { CancelledError, GateError } from '../errors.js';
import { plural } from '../plural.js';
import { excuseFailures } from './excuse.js';
import { findRun } from './find-run.js';
import { listFailures } from './list-failures.js';
import { Poll, type GateDeps, type GateSettings, type SuiteProgress } from './poll.js';
import type { SuiteOutcome } from './verdict.js';
import { waitForFinish } from './wait-for-finish.js';

export type { GateApi, GateDeps, GateSettings, SuiteProgress } from './poll.js';

/** Every suite concurrently, through one set of deps; `progress` is filled as they go, for an interrupt. */
export function runGate(deps: GateDeps, settings: GateSettings, suites: readonly string[], progress: Map<string, SuiteProgress>): Promise<SuiteOutcome[]> {
  return Promise.all(
    suites.map((suite) => {
      const p: SuiteProgress = { phase: 'finding' };
      progress.set(suite, p);
      return gateSuite(deps, settings, suite, p);
    }),
  );
}

export async function gateSuite(deps: GateDeps, settings: GateSettings, suite: string, progress: SuiteProgress = { phase: 'finding' }): Promise<SuiteOutcome> {
  const poll = new Poll(deps, settings, suite, progress);
  const done = (o: Omit<SuiteOutcome, 'suite' | 'elapsedMs'>): SuiteOutcome => {
    progress.phase = 'done';
    return { suite, elapsedMs: poll.now - poll.start, ...o };
  };
  try {
    const found = await findRun(poll);
    if ('outcome' in found) return done(found.outcome);
    const waited = await waitForFinish(poll, found.run);
    if ('outcome' in waited) return done(waited.outcome);

    const run = waited.failed;
    const listing = await listFailures(poll, run);
    const failures = 'failures' in listing ? listing.failures : undefined;
    const listed = failures ? { failures } : { failuresError: 'error' in listing ? listing.error : 'unknown error' };
    const excusal = await excuseFailures(poll, run, failures);
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
    return done({
      verdict: 'error',
      reason: deps.secrets.redact(error.message),
      ...(error.fix ? { advice: [deps.secrets.redact(error.fix)] } : {}),
      ...(error.docs ? { docs: error.docs } : {}),
      ...(progress.run ? { run: progress.run } : {}),
    });
  }
}
