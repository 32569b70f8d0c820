/**
 * SPEC.md step 3: poll the run until it is finished. A pass seen while running is no verdict. A finished pass is
 * final at once when the build says no job but the gate's own could still upload (more results can only come
 * from a running job); while one could, the gate waits for it and reads the run again; without the build, a
 * finished pass is read once more after `settle` before it is believed. `failed` is final — it needs no settling, it stands
 * at the timeout while the run still runs, and once any read has shown it, no later read moves away from it
 * (a lagging replica saying `passed`).
 */
import type { Run } from '../api/schemas.js';
import { formatSeconds } from '../clock.js';
import { cleanLine } from '../sanitize.js';
import type { GateSettings, Poll } from './poll.js';
import { jobsStillRunning, type BuildView } from './read-build.js';
import { goOnAdvice, type SuiteOutcome } from './verdict.js';

/** The read that confirms a pass may run a little past `timeout` — one short try: the pass was seen in time. */
const SETTLE_READ_GRACE_MS = 5_000;

export type Waiting = { readonly failed: Run } | { readonly outcome: Omit<SuiteOutcome, 'suite' | 'elapsedMs'> };

export async function waitForFinish(poll: Poll, found: Run, build?: BuildView): Promise<Waiting> {
  const { settings, deps, progress } = poll;
  let run = found;
  let waitingFor = '';
  let failedSeen = run.result === 'failed';
  /** Takes a new read in: logs what changed, and keeps `failed` once it was seen. */
  const take = (next: Run) => {
    if (failedSeen && next.result !== 'failed') {
      poll.log(`a read said result ${next.result} after one said failed; failed is final, so it stays failed`);
      next = { ...next, result: 'failed' };
    }
    failedSeen ||= next.result === 'failed';
    logChange(poll, run, next);
    run = next;
    progress.run = run;
  };
  progress.phase = 'waiting';
  progress.run = run;

  for (;;) {
    if (run.result === 'stale') {
      return { outcome: { verdict: 'inconclusive', run, reason: 'Test Engine marked the run stale: it received no results for too long', advice: staleAdvice(settings.host) } };
    }
    if (run.state === 'finished' && run.result === 'failed') return { failed: run };
    if (run.state === 'finished' && run.result === 'passed') {
      const uploading = await jobsThatMayUpload(poll, build);
      if (uploading?.length === 0) {
        poll.log('finished and passed, and no other job of the build can still upload: final');
        return { outcome: { verdict: 'passed', run, reason: 'the run finished and passed' } };
      }
      if (uploading && !poll.timedOut) {
        // More results can only come from these: read the run again once they have finished.
        const names = uploading.map((j) => `"${cleanLine(j.name ?? j.id, 100).text}" (${j.state})`).join(', ');
        if (names !== waitingFor) poll.log(`finished and passed, but ${uploading.length === 1 ? 'job' : 'jobs'} ${names} may still upload results; waiting for ${uploading.length === 1 ? 'it' : 'them'}`);
        waitingFor = names;
        await poll.pause();
        const next = await poll.read(() => deps.api.getRun(poll.suite, run.id, poll.deadline));
        if (next) take(next);
        continue;
      }
      if (uploading) poll.log(`the timeout came while ${waitingFor} could still upload; the pass is confirmed by settle alone`);
      if (settings.settleMs === 0) return { outcome: { verdict: 'passed', run, reason: 'the run finished and passed' } };
      progress.phase = 'settling';
      poll.log(`finished and passed; reading it again in ${formatSeconds(settings.settleMs)} to confirm (settle)`);
      // Every wait ends at the deadline, the settle wait too; the confirming read still comes.
      await deps.clock.sleep(Math.min(settings.settleMs, Math.max(0, poll.deadline - poll.now)), deps.signal);
      const again = await poll.read(() => deps.api.getRun(poll.suite, run.id, Math.max(poll.deadline, poll.now + SETTLE_READ_GRACE_MS)));
      progress.phase = 'waiting';
      if (again?.state === 'finished' && again.result === 'passed') {
        progress.run = again;
        poll.log('confirmed: finished and passed');
        return { outcome: { verdict: 'passed', run: again, reason: 'the run finished and passed' } };
      }
      if (again) {
        take(again);
        continue;
      }
      // The confirming read was given up on: the ordinary poll below reads again.
    }
    if (poll.timedOut) {
      if (run.result === 'failed') {
        poll.log(`timeout reached while the run is still ${run.state}; its result is failed, and failed is final`);
        return { failed: run };
      }
      const reason =
        run.state === 'finished' && run.result === 'passed'
          ? 'the run read finished and passed, but the read that would confirm it failed, so the pass is unconfirmed'
          : run.state === 'finished'
            ? `the run finished without a result (result ${run.result}): Test Engine processed no test results for it`
            : `the run did not finish within ${formatSeconds(settings.timeoutMs)}: it is still ${run.state}, result ${run.result}`;
      return { outcome: { verdict: 'inconclusive', run, reason: reason + poll.lastErrorNote, advice: timeoutAdvice(settings.timeoutMs, settings.host) } };
    }
    await poll.pause();
    const next = await poll.read(() => deps.api.getRun(poll.suite, run.id, poll.deadline));
    if (next) take(next);
  }
}

/** The build's jobs that may still upload (read again at most once a poll), or undefined without the build. */
async function jobsThatMayUpload(poll: Poll, build: BuildView | undefined) {
  if (!build) return undefined;
  const reading = await build.fresh(poll.settings.pollIntervalMs, poll.now);
  return 'build' in reading ? jobsStillRunning(reading.build, poll.settings.jobId) : undefined;
}

function staleAdvice(host: GateSettings['host']): string[] {
  return ['Check that every test job of this build uploaded its results (a job that crashed before uploading leaves the run without results).', goOnAdvice(host)];
}

function timeoutAdvice(timeoutMs: number, host: GateSettings['host']): string[] {
  return [`If the uploads are still being processed, raise timeout (now ${formatSeconds(timeoutMs)}).`, goOnAdvice(host)];
}

function logChange(poll: Poll, before: Run, after: Run): void {
  const changes: string[] = [];
  if (before.state !== after.state) changes.push(`state ${before.state} → ${after.state}`);
  if (before.result !== after.result) changes.push(`result ${before.result} → ${after.result}`);
  if (changes.length) poll.log(changes.join(', '));
}
