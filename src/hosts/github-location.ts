/** Where a test's failure sits in the repository, for GitHub's annotations (inline and on check runs). */

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
