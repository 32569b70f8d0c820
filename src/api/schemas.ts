/**
 * The shapes of the Test Engine API's answers (../shared/seeds/). Unknown extra fields are ignored; optional
 * fields may be missing or null. A state or result outside the documented values is an unexpected response,
 * never a verdict. (zod/mini: the same validation as zod for a thirtieth of the bundle.)
 */
import * as z from 'zod/mini';

export const RunState = z.enum(['running', 'finished']);
export const RunResult = z.enum(['pending', 'passed', 'failed', 'stale']);

export const Run = z.object({
  id: z.string().check(z.minLength(1)),
  state: RunState,
  result: RunResult,
  web_url: z.nullish(z.string()),
  url: z.nullish(z.string()),
  branch: z.nullish(z.string()),
  commit_sha: z.nullish(z.string()),
  build_id: z.nullish(z.string()),
  created_at: z.nullish(z.string()),
});
export type Run = z.infer<typeof Run>;

export const RunList = z.array(Run);

const FailureExpanded = z.object({
  expanded: z.nullish(z.array(z.string())),
  backtrace: z.nullish(z.array(z.string())),
});

export const FailedExecution = z.object({
  execution_id: z.nullish(z.string()),
  test_id: z.nullish(z.string()),
  test_name: z.nullish(z.string()),
  location: z.nullish(z.string()),
  failure_reason: z.nullish(z.string()),
  failure_expanded: z.nullish(z.array(FailureExpanded)),
  duration: z.nullish(z.number()),
  test_url: z.nullish(z.string()),
  test_execution_url: z.nullish(z.string()),
  tags: z.nullish(z.record(z.string(), z.unknown())),
});
export type FailedExecution = z.infer<typeof FailedExecution>;

export const FailedExecutionList = z.array(FailedExecution);

/** The JSON error body: `{"message": …}`, and for 429 also `scope`, `limit`, `current`, `reset`. */
export const ErrorBody = z.looseObject({ message: z.optional(z.string()) });

/** A zod issue in words: zod/mini carries no message catalogue. */
export function describeIssue(issue: z.core.$ZodIssue): string {
  const where = issue.path.length ? issue.path.join('.') : 'the body';
  switch (issue.code) {
    case 'invalid_type':
      return `${where}: expected ${issue.expected}`;
    case 'invalid_value':
      return `${where}: expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      return `${where}: too short`;
    default:
      return `${where}: ${issue.message}`;
  }
}

/**
 * One test of the Build tests API: `id` is the `test_id` of its executions, `url` names its suite, and
 * `executions_count_by_result` always has `passed` and `failed` (the other results only when non-zero).
 */
export const BuildTest = z.object({
  id: z.string().check(z.minLength(1)),
  url: z.nullish(z.string()),
  web_url: z.nullish(z.string()),
  scope: z.nullish(z.string()),
  name: z.nullish(z.string()),
  location: z.nullish(z.string()),
  // Never used: strings today, `{name, color}` objects in the older shape.
  labels: z.optional(z.unknown()),
  executions_count_by_result: z.object({ passed: z.number(), failed: z.number() }),
});
export type BuildTest = z.infer<typeof BuildTest>;

export const BuildTestList = z.array(BuildTest);

/**
 * A job of the Builds API. Only `id` and `type` are sure to be there: `waiter`, `manual` and `trigger` jobs have
 * no state of a command, and the API leaves out or nulls what does not apply.
 */
export const BuildJob = z.object({
  id: z.string().check(z.minLength(1)),
  type: z.string(),
  name: z.nullish(z.string()),
  step_key: z.nullish(z.string()),
  state: z.nullish(z.string()),
  exit_status: z.nullish(z.number()),
  soft_failed: z.nullish(z.boolean()),
  retried: z.nullish(z.boolean()),
  retried_in_job_id: z.nullish(z.string()),
  web_url: z.nullish(z.string()),
});
export type BuildJob = z.infer<typeof BuildJob>;

/** The Builds API's build with `include_test_engine=true`: its jobs, and every Test Engine run of it, one per suite. */
export const Build = z.object({
  id: z.string().check(z.minLength(1)),
  number: z.nullish(z.number()),
  state: z.nullish(z.string()),
  web_url: z.nullish(z.string()),
  jobs: z.nullish(z.array(BuildJob)),
  test_engine: z.nullish(
    z.object({
      runs: z.nullish(z.array(z.object({ id: z.string().check(z.minLength(1)), suite: z.object({ id: z.nullish(z.string()), slug: z.string().check(z.minLength(1)) }) }))),
    }),
  ),
});
export type Build = z.infer<typeof Build>;
