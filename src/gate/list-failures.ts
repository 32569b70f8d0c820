/**
 * SPEC.md step 5: list what the annotation shows of a failed run. The verdict is already certain; listing
 * cannot change it, so a listing the transport gave up on leaves the verdict failed with a note.
 */
import type { FailureList } from '../api/endpoints.js';
import type { Run } from '../api/schemas.js';
import { describeError, TransientApiError, ApiError } from '../errors.js';
import type { Poll } from './poll.js';

/** Listing failures gets at least this long after a run failed, even when `timeout` has run out. */
const FAILURE_FETCH_GRACE_MS = 60_000;

export type Listing = { readonly failures: FailureList } | { readonly error: string };

export async function listFailures(poll: Poll, run: Run): Promise<Listing> {
  poll.progress.phase = 'fetching failures';
  const deadline = Math.max(poll.deadline, poll.now + FAILURE_FETCH_GRACE_MS);
  try {
    const failures = await poll.deps.api.failedExecutions(poll.suite, run.id, poll.settings.maxFailures, deadline);
    poll.log(`${failures.exact ? '' : 'at least '}${failures.total} failed execution${failures.total === 1 ? '' : 's'}`);
    if (failures.cutShort) poll.log(`the listing stopped short, showing what was read: ${poll.deps.secrets.redact(failures.cutShort)}`);
    return { failures };
  } catch (error) {
    if (!(error instanceof TransientApiError || error instanceof ApiError)) throw error;
    const why = describeError(error, poll.deps.secrets);
    poll.log(`the failures could not be listed: ${why}`);
    return { error: why };
  }
}
