/** Failures grouped by test, and each test's one-line summary: shared by the log, the annotation and the Action. */
import type { FailedExecution } from '../api/schemas.js';
import { cleanLine } from '../sanitize.js';
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

export interface FailureLine {
  readonly name: string;
  readonly location: string;
  /** The first line of the failure reason, cut to `reasonChars`. */
  readonly reason: string;
}

/** A test's name, location and the first line of its reason, cleaned: `✗ name (location): reason` in the log. */
export function failureLine(execution: FailedExecution, secrets: Secrets | undefined, reasonChars = 160): FailureLine {
  const firstLine = (execution.failure_reason ?? '').split('\n').find((l) => l.trim() !== '') ?? '';
  const reason = cleanLine(firstLine, reasonChars, secrets);
  return {
    name: cleanLine(execution.test_name || '(unnamed test)', 200, secrets).text,
    location: cleanLine(execution.location ?? '', 200, secrets).text,
    reason: reason.text + (reason.omitted ? '…' : ''),
  };
}
