/** Failures grouped by test, and each test's one-line summary: shared by the log, the annotation and the Action. */
import type { FailedExecution } from '../api/schemas.js';
import { excusedIds } from '../gate/excuse.js';
import type { SuiteOutcome } from '../gate/verdict.js';
import { plural } from '../plural.js';
import { cleanLine } from '../sanitize.js';
import { NO_SOURCE, locationIn, type SourceContext } from './source.js';
import type { Secrets } from '../secrets.js';

export interface TestGroup {
  readonly executions: FailedExecution[];
}

/** Executions of one test together (by `test_id`), in the order the API gave them. */
export function groupByTest(executions: readonly FailedExecution[]): TestGroup[] {
  const groups = new Map<string, TestGroup>();
  executions.forEach((execution, i) => {
    const key = execution.test_id ?? `${execution.test_name ?? ''}\u0000${execution.location ?? ''}\u0000${i}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { executions: [] }));
    group.executions.push(execution);
  });
  return [...groups.values()];
}

/** The failures that nothing excuses (step 5b): what the Failed section, the log and GitHub's errors show. */
export interface UnexcusedFailures {
  /** The unexcused executions read, grouped by test. */
  readonly groups: TestGroup[];
  /** The run's failed executions less those of excused tests (known exactly only when every excused test was read). */
  readonly total: number;
  /** Whether every unexcused execution was read, so that the test count is exact. */
  readonly allRead: boolean;
  /** Whether `total` is exact (the API gave a `last` link). */
  readonly exact: boolean;
  /** Executions read of excused tests that `total` could not subtract (reading stopped early): shown in their sections. */
  readonly excusedUncounted: number;
}

export function unexcusedFailures(outcome: SuiteOutcome): UnexcusedFailures | undefined {
  const { failures, excuses } = outcome;
  if (!failures) return undefined;
  const excused = excusedIds(excuses);
  const unexcused = failures.executions.filter((e) => !e.test_id || !excused.has(e.test_id));
  const excusedExecutions = excuses?.complete ? [...excuses.flaky, ...excuses.muted].reduce((n, t) => n + t.failed, 0) : 0;
  const total = Math.max(unexcused.length, failures.total - excusedExecutions);
  return {
    groups: groupByTest(unexcused),
    total,
    allRead: failures.exact && unexcused.length >= total,
    exact: failures.exact,
    excusedUncounted: excuses?.complete ? 0 : failures.executions.length - unexcused.length,
  };
}

/** "3 failed tests", or with repeats "47 failed tests, 300 failed executions"; "at least" where not everything was read. */
export function countPhrase(f: UnexcusedFailures): string {
  const tests = `${f.allRead ? '' : 'at least '}${plural(f.groups.length, 'failed test')}`;
  if (f.allRead && f.groups.length === f.total) return tests;
  return `${tests}, ${f.exact ? '' : 'at least '}${plural(f.total, 'failed execution')}`;
}

export interface FailureLine {
  readonly name: string;
  readonly location: string;
  /** The first line of the failure reason, cut to `reasonChars`. */
  readonly reason: string;
}

/**
 * A test's name, location and the first line of its reason, cleaned: `✗ name (location): reason` in the log. The
 * location is relative to the repository root when the source says where that is.
 */
export function failureLine(execution: FailedExecution, secrets: Secrets | undefined, reasonChars = 160, source: SourceContext = NO_SOURCE): FailureLine {
  const firstLine = (execution.failure_reason ?? '').split('\n').find((l) => l.trim() !== '') ?? '';
  const reason = cleanLine(firstLine, reasonChars, secrets);
  return {
    name: cleanLine(execution.test_name || '(unnamed test)', 200, secrets).text,
    location: cleanLine(repositoryLocation(execution.location, source) ?? execution.location ?? '', 200, secrets).text,
    reason: reason.text + (reason.omitted ? '…' : ''),
  };
}

/** `path:line` relative to the repository root, or undefined when the location points nowhere in it. */
function repositoryLocation(location: string | null | undefined, source: SourceContext): string | undefined {
  const spot = locationIn(location, source);
  if (!spot) return undefined;
  // A pytest node id keeps its test part: `tests/test_a.py::test_b[chromium]`.
  const test = (location ?? '').trim().split('::').slice(1);
  return `${spot.path}${spot.line ? `:${spot.line}` : ''}${test.length ? `::${test.join('::')}` : ''}`;
}
