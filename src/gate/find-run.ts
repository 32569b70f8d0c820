/** SPEC.md step 2: find the suite's run of this build, polling while the list is empty. */
import type { Run } from '../api/schemas.js';
import { formatSeconds } from '../clock.js';
import { suitesWithResults } from './excuse.js';
import type { Poll } from './poll.js';
import { goOnAdvice, type SuiteOutcome } from './verdict.js';

export type Finding = { readonly run: Run } | { readonly outcome: Omit<SuiteOutcome, 'suite' | 'elapsedMs'> };

/**
 * `runId`, when the Builds API named this suite's run: read it directly, no list request needed. `buildSuites`:
 * the suites the build names, for the hint when no run appears.
 */
export async function findRun(poll: Poll, runId?: string, buildSuites: readonly string[] = []): Promise<Finding> {
  const { lookup, timeoutMs } = poll.settings;
  const subject = lookup.kind === 'build' ? `build ${lookup.buildId}` : `commit ${lookup.commit}`;
  let announcedWait = false;
  for (;;) {
    const runs = await poll.read(async () =>
      runId ? [await poll.deps.api.getRun(poll.suite, runId, poll.deadline)] : poll.deps.api.findRuns(poll.suite, lookup, poll.deadline),
    );
    if (runs && runs.length > 0) {
      const run = runs[0]!;
      const why =
        runId
          ? ' (named by the build)'
          : lookup.kind === 'build'
          ? runs.length > 1 ? ` (${runs.length} runs for this build; gating on the newest)` : ''
          : ` (chosen as the newest of the suite's recent runs with commit_sha ${lookup.commit}${runs.length > 1 ? `; ${runs.length} such runs` : ''})`;
      poll.log(`run found: ${run.web_url ?? run.id} — ${run.state}, result ${run.result}${why}`);
      return { run };
    }
    if (runs && !announcedWait) {
      poll.log(`no Test Engine run for ${subject} yet; waiting for its first upload to be processed`);
      announcedWait = true;
    }
    if (poll.timedOut) break;
    await poll.pause();
  }

  // A mistyped or defaulted suite-slug is the usual cause: say which suites do have results in this build.
  const others = buildSuites.length ? buildSuites : lookup.kind === 'build' ? await suitesWithResults(poll, lookup.buildId) : [];
  const hint = others.filter((s) => s !== poll.suite);
  return {
    outcome: {
      verdict: 'inconclusive',
      reason: `no Test Engine run appeared for ${subject} within ${formatSeconds(timeoutMs)}${poll.lastErrorNote}`,
      advice: [
        hint.length
          ? `This build has ${buildSuites.length ? '' : 'failing '}test results in suite${hint.length > 1 ? 's' : ''} ${hint.join(', ')}: is suite-slug ("${poll.suite}") right?`
          : `Check that the test steps upload to suite "${poll.suite}" (suite-slug) and ran in this build.`,
        `If the uploads are slow to be processed, raise timeout (now ${formatSeconds(timeoutMs)}).`,
        goOnAdvice(poll.settings.host),
      ],
    },
  };
}
