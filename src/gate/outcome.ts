import type { FailurePage } from '../api/client.js';
import type { Run } from '../api/schemas.js';
import { ExitCode } from '../errors.js';

export type Verdict = 'passed' | 'failed' | 'inconclusive' | 'error';

/** What the gate learnt about one suite: the verdict and everything the report needs. */
export interface SuiteOutcome {
  readonly suite: string;
  readonly verdict: Verdict;
  /** One line for the log and the annotation: why this verdict. */
  readonly reason: string;
  readonly run?: Run;
  readonly failures?: FailurePage;
  /** Set when the run failed but its failures could not be listed: the verdict stands. */
  readonly failuresError?: string;
  readonly elapsedMs: number;
}

const EXIT: Record<Verdict, ExitCode> = {
  passed: ExitCode.Passed,
  failed: ExitCode.Failed,
  error: ExitCode.Error,
  inconclusive: ExitCode.Inconclusive,
};

/** SPEC.md step 8: 2 if any suite hit 2, else 1 if any failed, else 3 if any was inconclusive, else 0. */
export function exitCodeFor(outcomes: readonly SuiteOutcome[]): ExitCode {
  if (outcomes.length === 0) return ExitCode.Error;
  for (const verdict of ['error', 'failed', 'inconclusive'] as const) {
    if (outcomes.some((o) => o.verdict === verdict)) return EXIT[verdict];
  }
  return ExitCode.Passed;
}
