/**
 * Every size and line budget of what the gate shows, with the reason for each number.
 */

/** Buildkite refuses an annotation body over 1 MiB, counted in bytes after the agent redacts secrets. */
export const ANNOTATION_LIMIT_BYTES = 1024 * 1024;
/** Redaction can lengthen short secrets, and the footer needs room: 64 KiB under the limit is never refused. */
export const ANNOTATION_MAX_BYTES = ANNOTATION_LIMIT_BYTES - 64 * 1024;
/**
 * What a reviewer reads: about 5 KiB per failure shown in detail. With the default max-failures (50) that is
 * the 256 KiB an annotation may take however long the test output; more failures get more, up to the limit.
 */
export const BYTES_PER_FAILURE = 5 * 1024;
export const DEFAULT_ANNOTATION_BYTES = 256 * 1024;

export function annotationBudget(maxFailures: number): number {
  return Math.min(ANNOTATION_MAX_BYTES, Math.max(DEFAULT_ANNOTATION_BYTES, maxFailures * BYTES_PER_FAILURE));
}

/**
 * How much of one failure is shown, from generous to terse; each test gets the first level that fits its
 * share of the budget. `reason` caps the failure reason (characters), `lines` the expanded lines, `backtrace`
 * the frames (the first ones say where it broke), `lineChars` any one line (wider than a screen helps no one).
 */
export const DETAIL_LEVELS = [
  { reason: 4000, lines: 40, backtrace: 10, lineChars: 400 },
  { reason: 2000, lines: 20, backtrace: 6, lineChars: 300 },
  { reason: 800, lines: 8, backtrace: 3, lineChars: 200 },
  { reason: 300, lines: 0, backtrace: 0, lineChars: 200 },
] as const;
export type DetailLevel = (typeof DETAIL_LEVELS)[number];

/** One test's share of the budget: never so little that its reason cannot show, never one test crowding out the rest. */
export const MIN_TEST_BYTES = 4 * 1024;
export const MAX_TEST_BYTES = 48 * 1024;
/** The first line of the reason in a test's collapsed line: one line of a wide screen. */
export const SUMMARY_REASON_CHARS = 120;
/** Test names and locations: long parameterised names stay readable; beyond this they are noise. */
export const NAME_CHARS = 300;
/** Links to each failed execution of a test that failed repeatedly: a row, not a wall. */
export const MAX_EXECUTION_LINKS = 10;
/** Tests that passed on retry or are muted, one line each, before "and N more". */
export const MAX_EXCUSED_LINES = 100;
/** Failing tests listed in the job log, one line each: the annotation has the rest. */
export const LOGGED_TESTS = 20;
/** GitHub shows at most 10 error annotations per step; the rest are summed up in one notice. */
export const MAX_GITHUB_ERRORS = 10;
/** An inline GitHub annotation's message: the runner takes %0A for line breaks; 4 000 characters read at the file. */
export const GITHUB_MESSAGE_CHARS = 4000;
