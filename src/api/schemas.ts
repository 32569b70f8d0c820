/**
 * The shapes of the Test Engine API's answers (../shared/seeds/). Unknown extra fields are ignored; optional
 * fields may be missing or null. A state or result outside the documented values is an unexpected response,
 * never a verdict.
 */
import { z } from 'zod';

export const RunState = z.enum(['running', 'finished']);
export const RunResult = z.enum(['pending', 'passed', 'failed', 'stale']);

export const Run = z.object({
  id: z.string().min(1),
  state: RunState,
  result: RunResult,
  web_url: z.string().nullish(),
  url: z.string().nullish(),
  branch: z.string().nullish(),
  commit_sha: z.string().nullish(),
  build_id: z.string().nullish(),
  created_at: z.string().nullish(),
});
export type Run = z.infer<typeof Run>;

export const RunList = z.array(Run);

const FailureExpanded = z.object({
  expanded: z.array(z.string()).nullish(),
  backtrace: z.array(z.string()).nullish(),
});

export const FailedExecution = z.object({
  execution_id: z.string().nullish(),
  test_id: z.string().nullish(),
  test_name: z.string().nullish(),
  location: z.string().nullish(),
  failure_reason: z.string().nullish(),
  failure_expanded: z.array(FailureExpanded).nullish(),
  duration: z.number().nullish(),
  test_url: z.string().nullish(),
  test_execution_url: z.string().nullish(),
  tags: z.record(z.string(), z.unknown()).nullish(),
});
export type FailedExecution = z.infer<typeof FailedExecution>;

export const FailedExecutionList = z.array(FailedExecution);

/** The JSON error body: `{"message": …}`, and for 429 also `scope`, `limit`, `current`, `reset`. */
export const ErrorBody = z.object({ message: z.string().optional() }).loose();
