/** Where a test's failure sits in the repository, for GitHub's annotations (inline and on check runs). */
import type { FailedExecution } from '../api/schemas.js';
import { failureLine } from '../report/failure-summary.js';
import { backtraceLines } from '../report/render-annotation.js';
import { locationIn, projectFrames, type SourceContext } from '../report/source.js';
import type { Secrets } from '../secrets.js';

/**
 * A test's location as the file and line an inline annotation attaches to: RSpec `./spec/a_spec.rb:23`, Jest and
 * Vitest `src/a.test.ts:88:20`, pytest `tests/test_a.py::test_b[chromium]` (a node id: the file, no line).
 */
export function parseLocation(location: string | null | undefined): { file: string; startLine?: number } | undefined {
  if (!location) return undefined;
  const path = location.trim().split('::')[0]!;
  const match = /^(.*?):(\d+)(?::\d+)?$/.exec(path);
  const file = (match ? match[1]! : path).replace(/^\.\//, '');
  if (!file || /[\r\n]/.test(file)) return undefined;
  return match ? { file, startLine: Number(match[2]) } : { file };
}

/**
 * The file and line a failure's annotation goes on: its location, relative to the repository; when that names
 * no file of the repository (a checkout tells), the first of the project's own frames.
 */
export function failureSpot(execution: FailedExecution, source: SourceContext, secrets: Secrets): { file: string; startLine?: number } | undefined {
  const spot = locationIn(execution.location, source);
  if (spot && (!source.tracked || source.tracked.has(spot.path))) return spot.line ? { file: spot.path, startLine: spot.line } : { file: spot.path };
  const own = projectFrames(backtraceLines(execution), source).find((f) => f.kind === 'own');
  if (own?.kind === 'own') return own.frame.line ? { file: own.path, startLine: own.frame.line } : { file: own.path };
  return parseLocation(failureLine(execution, secrets).location);
}
