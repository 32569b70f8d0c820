/**
 * SPEC.md step 5c: the final command jobs that did not pass and whose failure no test result shows — they
 * crashed or timed out before uploading, never uploaded, or failed outside their tests. Listed apart so that a
 * reviewer sees what the test results cannot show; they never change a verdict.
 */
import { ApiError, TransientApiError, describeError } from '../errors.js';
import type { FailedTestsByJob } from './job-tests.js';
import type { GateDeps } from './poll.js';
import { failingJobs, type BuildReading } from './read-build.js';

export interface JobWithoutFailedTest {
  readonly id: string;
  readonly name: string;
  readonly webUrl: string | undefined;
  /** `failed`, `timed_out`, `expired`; a soft-failed job says so apart. */
  readonly state: string;
  readonly softFailed: boolean;
  readonly exitStatus: number | undefined;
  /** Whether Test Engine has any result of this job: "its recorded tests did not fail" or "no test results recorded". */
  readonly recorded: boolean;
}

export async function jobsWithoutFailedTests(
  deps: GateDeps,
  reading: BuildReading,
  failedTests: FailedTestsByJob | undefined,
  ownJobId: string | undefined,
): Promise<JobWithoutFailedTest[]> {
  if (!('build' in reading) || !failedTests) return [];
  const found: JobWithoutFailedTest[] = [];
  try {
    for (const job of failingJobs(reading.build, ownJobId)) {
      const first = await failedTests.page(job.id, 0);
      if (first && first.tests.length > 0) continue;
      let recorded = false;
      // One item is enough to tell "no results" from "results that did not fail".
      for await (const page of deps.api.buildTests(failedTests.buildId, { tags: [`build.job_id:${job.id}`], perPage: 1 }, failedTests.deadlineMs, failedTests.forSuite)) {
        recorded = page.tests.length > 0;
        break;
      }
      found.push({
        id: job.id,
        name: job.name ?? job.step_key ?? job.id,
        webUrl: job.web_url ?? undefined,
        state: job.state ?? 'unknown',
        softFailed: job.soft_failed === true,
        exitStatus: job.exit_status ?? undefined,
        recorded,
      });
    }
  } catch (error) {
    if (!(error instanceof ApiError || error instanceof TransientApiError)) throw error;
    deps.log(`build: the jobs that failed without a failed test could not be listed: ${describeError(error, deps.secrets)}`);
  }
  return found;
}
