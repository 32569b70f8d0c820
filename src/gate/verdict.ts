/**
 * THE verdict table: what each verdict means to the pipeline (exit code, SPEC.md step 8), to a reader (word,
 * icon) and to Buildkite (annotation style), and the one rule for which outcomes get an annotation. Every
 * host, the log and the renderer read it from here.
 */
import type { Run } from '../api/schemas.js';
import type { FailureList } from '../api/endpoints.js';
import { ExitCode, type DocsLink } from '../errors.js';
import type { Excuses } from './excuse.js';
import type { JobWithoutFailedTest } from './failed-jobs.js';

export type Verdict = 'passed' | 'failed' | 'inconclusive' | 'error';
export type AnnotationStyle = 'success' | 'info' | 'warning' | 'error';

interface VerdictInfo {
  readonly exitCode: ExitCode;
  /** For the exit line: "Exit 1: tests failed". */
  readonly meaning: string;
  readonly style: AnnotationStyle;
  /** In annotations (Unicode) and Buildkite log group titles (emoji codes). */
  readonly icon: string;
  readonly emoji: string;
  /** Most serious first: the order in which several suites' verdicts combine. */
  readonly rank: number;
}

export const VERDICTS: Readonly<Record<Verdict, VerdictInfo>> = {
  error: { exitCode: ExitCode.Error, meaning: 'configuration, authentication or not-found error', style: 'error', icon: '🛑', emoji: ':octagonal_sign:', rank: 0 },
  failed: { exitCode: ExitCode.Failed, meaning: 'tests failed', style: 'error', icon: '❌', emoji: ':x:', rank: 1 },
  inconclusive: { exitCode: ExitCode.Inconclusive, meaning: 'inconclusive', style: 'warning', icon: '⚠️', emoji: ':warning:', rank: 2 },
  passed: { exitCode: ExitCode.Passed, meaning: 'passed', style: 'success', icon: '✅', emoji: ':white_check_mark:', rank: 3 },
};

/** How to let the pipeline go on past an inconclusive gate, in the host's own terms. */
export function goOnAdvice(host: 'buildkite' | 'github' | 'cli'): string {
  if (host === 'github') return 'To let the workflow go on when this happens, set continue-on-error: true on the step and read its result output (inconclusive).';
  if (host === 'cli') return 'To let the pipeline go on when this happens, treat exit status 3 as a soft failure.';
  return 'To let the build go on when this happens, soft-fail the step: soft_fail: [{exit_status: 3}].';
}

/** What the gate learnt about one suite: the verdict and everything the report needs. */
export interface SuiteOutcome {
  readonly suite: string;
  readonly verdict: Verdict;
  /** One line for the log and the annotation: why this verdict. */
  readonly reason: string;
  readonly run?: Run;
  readonly failures?: FailureList;
  /** Set when the run failed but its failures could not be listed: the verdict stands. */
  readonly failuresError?: string;
  /** Step 5b: the failing tests sorted into failed, passed on retry and muted (absent when not read). */
  readonly excuses?: Excuses;
  /** Step 5c: the build's final jobs that did not pass although none of their tests failed (build-wide). */
  readonly failedJobs?: readonly JobWithoutFailedTest[];
  /** What to do next, for inconclusive and error outcomes: shown first in their annotation. */
  readonly advice?: readonly string[];
  /** Where an error's fix is explained. */
  readonly docs?: DocsLink;
  readonly elapsedMs: number;
}

/** SPEC.md step 8 for several suites: 2 if any suite hit 2, else 1 if any failed, else 3 if any was inconclusive, else 0. */
export function worstVerdict(outcomes: readonly SuiteOutcome[]): Verdict {
  if (outcomes.length === 0) return 'error';
  return outcomes.map((o) => o.verdict).reduce((a, b) => (VERDICTS[a].rank <= VERDICTS[b].rank ? a : b));
}

export function exitCodeFor(outcomes: readonly SuiteOutcome[]): ExitCode {
  return VERDICTS[worstVerdict(outcomes)].exitCode;
}

/** A pass whose run failed only on excused tests (step 5b): green, but the excused tests stay visible. */
export function isExcusedPass(outcome: SuiteOutcome): boolean {
  return outcome.verdict === 'passed' && outcome.run?.result === 'failed';
}

/** A pass in a build that has jobs which failed without a failed test (step 5c): green, with a warning. */
function passedBesideFailedJobs(outcome: SuiteOutcome): boolean {
  return outcome.verdict === 'passed' && (outcome.failedJobs?.length ?? 0) > 0;
}

export function annotationStyle(outcome: SuiteOutcome): AnnotationStyle {
  if (passedBesideFailedJobs(outcome)) return 'warning';
  return isExcusedPass(outcome) ? 'info' : VERDICTS[outcome.verdict].style;
}

/** SPEC.md step 7: every verdict but a plain pass is reported; a plain pass only with `always-annotate`, or beside failed jobs. */
export function shouldReport(outcome: SuiteOutcome, alwaysAnnotate: boolean): boolean {
  return outcome.verdict !== 'passed' || isExcusedPass(outcome) || passedBesideFailedJobs(outcome) || alwaysAnnotate;
}
