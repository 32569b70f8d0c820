/**
 * find → wait → verdict for one suite (SPEC.md steps 2–5). Pure apart from what is passed in: the API, the
 * clock, the rate-limit budget and a log function, so tests run it against a scripted API and a fake clock.
 */
import type { FailurePage } from '../api/client.js';
import type { RateLimitBudget } from '../api/rate-limit.js';
import type { Run } from '../api/schemas.js';
import { formatSeconds, type Clock } from '../clock.js';
import { CancelledError, GateError, TransientApiError, describeError } from '../errors.js';
import type { SuiteOutcome } from './outcome.js';

export interface RunApi {
  listRunsForBuild(suite: string, buildId: string, deadlineMs: number): Promise<readonly Run[]>;
  runsForCommit(suite: string, commit: string, deadlineMs: number): Promise<readonly Run[]>;
  getRun(suite: string, runId: string, deadlineMs: number): Promise<Run>;
  failedExecutions(suite: string, runId: string, want: number, deadlineMs: number): Promise<FailurePage>;
}

/** Which run: the build's (always, on Buildkite), or on GitHub without a build the newest for a commit. */
export type RunLookup = { readonly buildId: string } | { readonly commit: string };

export interface GateSettings {
  readonly lookup: RunLookup;
  readonly timeoutMs: number;
  readonly pollIntervalMs: number;
  readonly settleMs: number;
  readonly maxFailures: number;
}

export interface GateDeps {
  readonly api: RunApi;
  readonly clock: Clock;
  readonly budget: RateLimitBudget;
  readonly signal: AbortSignal;
  readonly log: (line: string) => void;
  /** Secrets to keep out of log lines built from error messages. */
  readonly secrets?: readonly string[];
}

/** What is known of a suite so far; an interrupt prints it. */
export interface SuiteProgress {
  phase: 'finding' | 'waiting' | 'settling' | 'fetching failures' | 'done';
  run?: Run;
}

/** Listing failures gets at least this long after a run failed, even when `timeout` has run out. */
const FAILURE_FETCH_GRACE_MS = 60_000;
const FAILURE_FETCH_ATTEMPTS = 3;
/** The read that confirms a pass may run a little past `timeout`: the pass was seen in time. */
const SETTLE_READ_GRACE_MS = 30_000;

export async function gateSuite(
  deps: GateDeps,
  settings: GateSettings,
  suite: string,
  progress: SuiteProgress = { phase: 'finding' },
): Promise<SuiteOutcome> {
  const { api, clock, budget, signal } = deps;
  const start = clock.now();
  const deadline = start + settings.timeoutMs;
  const elapsed = () => formatSeconds(clock.now() - start);
  const log = (line: string) => deps.log(`${suite}: ${line} [${elapsed()}]`);
  const outcome = (o: Omit<SuiteOutcome, 'suite' | 'elapsedMs'>): SuiteOutcome => {
    progress.phase = 'done';
    return { suite, elapsedMs: clock.now() - start, ...o };
  };
  let loggedPace = '';
  let lastError: string | undefined;

  /** Sleeps one poll interval (stretched when the rate-limit budget runs low), never past the deadline. */
  const pause = async () => {
    const pace = budget.pace(settings.pollIntervalMs, clock.now());
    const every = pace.scope ? formatSeconds(pace.intervalMs) : '';
    // Said once per change of pace, not at every poll.
    if (every && every !== loggedPace) {
      const shared = pace.consumers && pace.consumers >= 1.5 ? `, shared with about ${Math.round(pace.consumers - 1)} other gates` : '';
      log(`rate limit: ${pace.remaining} ${pace.scope} requests left for ${formatSeconds(pace.resetMs!)}${shared}; polling every ${every}`);
    }
    loggedPace = every;
    await clock.sleep(Math.min(pace.intervalMs, Math.max(0, deadline - clock.now())), signal);
  };

  /** Runs one read; a transient failure is logged and reported as undefined, anything else is thrown. */
  const attempt = async <T>(read: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await read();
    } catch (error) {
      if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new CancelledError();
      if (error instanceof TransientApiError) {
        lastError = describeError(error, deps.secrets);
        log(`${lastError}; will try again`);
        return undefined;
      }
      throw error;
    }
  };

  try {
    // 2. Find the run: an empty list means nothing was uploaded (or processed) yet.
    const lookup = settings.lookup;
    const subject = 'buildId' in lookup ? `build ${lookup.buildId}` : `commit ${lookup.commit}`;
    let run: Run | undefined;
    let announcedWait = false;
    for (;;) {
      const runs = await attempt(() =>
        'buildId' in lookup ? api.listRunsForBuild(suite, lookup.buildId, deadline) : api.runsForCommit(suite, lookup.commit, deadline),
      );
      if (runs && runs.length > 0) {
        run = runs[0]!;
        const why =
          'buildId' in lookup
            ? runs.length > 1 ? ` (${runs.length} runs for this build; gating on the newest)` : ''
            : ` (chosen as the newest of the suite's recent runs with commit_sha ${lookup.commit}${runs.length > 1 ? `; ${runs.length} such runs` : ''})`;
        log(`run found: ${run.web_url ?? run.id} — ${run.state}, result ${run.result}${why}`);
        break;
      }
      if (runs && !announcedWait) {
        log(`no Test Engine run for ${subject} yet; waiting for its first upload to be processed`);
        announcedWait = true;
      }
      if (clock.now() >= deadline) {
        return outcome({
          verdict: 'inconclusive',
          reason: `no Test Engine run appeared for ${subject} within ${formatSeconds(settings.timeoutMs)}` +
            (lastError ? ` (last error: ${lastError})` : '') +
            '. Check that the test steps upload to this suite and ran in this build.',
        });
      }
      await pause();
    }
    progress.phase = 'waiting';
    progress.run = run;

    // 3. Wait for `finished`. `failed` is final; `passed` is believed once finished and settled.
    for (;;) {
      if (run.result === 'stale') {
        return outcome({ verdict: 'inconclusive', run, reason: 'Test Engine marked the run stale: it received no results for too long' });
      }
      if (run.state === 'finished' && run.result === 'failed') break;
      if (run.state === 'finished' && run.result === 'passed') {
        if (settings.settleMs === 0) return outcome({ verdict: 'passed', run, reason: 'the run finished and passed' });
        progress.phase = 'settling';
        log(`finished and passed; reading it again in ${formatSeconds(settings.settleMs)} to confirm (settle)`);
        await clock.sleep(settings.settleMs, signal);
        const again = await attempt(() => api.getRun(suite, run!.id, Math.max(deadline, clock.now() + SETTLE_READ_GRACE_MS)));
        if (again && again.state === 'finished' && again.result === 'passed') {
          progress.run = again;
          log('confirmed: finished and passed');
          return outcome({ verdict: 'passed', run: again, reason: 'the run finished and passed' });
        }
        if (again) {
          logChange(log, run, again);
          run = again;
          progress.run = run;
          progress.phase = 'waiting';
          continue;
        }
        // The confirming read failed: fall through to the ordinary poll, which retries it.
        progress.phase = 'waiting';
      }
      if (clock.now() >= deadline) {
        if (run.result === 'failed') {
          log(`timeout reached while the run is still ${run.state}; its result is failed, and failed is final`);
          break;
        }
        const why =
          run.state === 'finished'
            ? `the run finished without a result (result ${run.result}): Test Engine processed no test results for it`
            : `the run did not finish within ${formatSeconds(settings.timeoutMs)}: it is still ${run.state}, result ${run.result}`;
        return outcome({ verdict: 'inconclusive', run, reason: why + (lastError ? ` (last error: ${lastError})` : '') });
      }
      await pause();
      const next = await attempt(() => api.getRun(suite, run!.id, deadline));
      if (next) {
        logChange(log, run, next);
        run = next;
        progress.run = run;
      }
    }

    // 5. Failed: list what the annotation shows. The verdict is already certain; listing cannot change it.
    progress.phase = 'fetching failures';
    const fetchDeadline = Math.max(deadline, clock.now() + FAILURE_FETCH_GRACE_MS);
    let failures: FailurePage | undefined;
    for (let i = 1; i <= FAILURE_FETCH_ATTEMPTS && !failures; i++) {
      failures = await attempt(() => api.failedExecutions(suite, run!.id, settings.maxFailures, fetchDeadline));
      if (!failures && i < FAILURE_FETCH_ATTEMPTS) await clock.sleep(Math.min(settings.pollIntervalMs, 5_000), signal);
    }
    const reason = run.state === 'finished' ? 'the run finished with failed tests' : 'the run has failed tests (still running at the timeout; failed is final)';
    if (!failures) {
      return outcome({ verdict: 'failed', run, reason, failuresError: lastError ?? 'unknown error' });
    }
    log(`${failures.exact ? '' : 'at least '}${failures.total} failed execution${failures.total === 1 ? '' : 's'}`);
    return outcome({ verdict: 'failed', run, reason, failures });
  } catch (error) {
    if (error instanceof CancelledError || signal.aborted) throw signal.reason ?? error;
    if (error instanceof GateError) {
      return outcome({ verdict: 'error', reason: describeError(error, deps.secrets), ...(progress.run ? { run: progress.run } : {}) });
    }
    throw error;
  }
}

function logChange(log: (line: string) => void, before: Run, after: Run): void {
  const changes: string[] = [];
  if (before.state !== after.state) changes.push(`state ${before.state} → ${after.state}`);
  if (before.result !== after.result) changes.push(`result ${before.result} → ${after.result}`);
  if (changes.length) log(changes.join(', '));
}
