/** The verdict of a suite as log lines: a title for the group, then the failing tests, one line each. */
import { formatSeconds } from '../clock.js';
import type { SuiteOutcome } from '../gate/outcome.js';
import { cleanLine } from '../sanitize.js';
import { groupByTest } from './render-annotation.js';

const LOGGED_TESTS = 20;

export function verdictTitle(outcome: SuiteOutcome): string {
  const icon = { passed: ':white_check_mark:', failed: ':x:', inconclusive: ':warning:', error: ':octagonal_sign:' }[outcome.verdict];
  const failures = outcome.failures;
  const count = failures
    ? ` — ${failures.exact ? '' : 'at least '}${failures.total.toLocaleString('en-US')} failed execution${failures.total === 1 ? '' : 's'}`
    : '';
  return `${icon} Test Engine gate: ${outcome.suite} ${outcome.verdict}${count} (${formatSeconds(outcome.elapsedMs)})`;
}

export function verdictLines(outcome: SuiteOutcome, secrets: readonly string[]): string[] {
  const lines = [cleanLine(outcome.reason, 2000, secrets).text];
  if (outcome.run?.web_url) lines.push(`run: ${cleanLine(outcome.run.web_url, 500).text}`);
  if (outcome.failuresError) lines.push(`the failures could not be listed: ${cleanLine(outcome.failuresError, 500, secrets).text}`);
  const groups = groupByTest(outcome.failures?.executions ?? []);
  for (const group of groups.slice(0, LOGGED_TESTS)) {
    const e = group.executions[0]!;
    const name = cleanLine(e.test_name || '(unnamed test)', 200, secrets).text;
    const where = e.location ? ` (${cleanLine(e.location, 200, secrets).text})` : '';
    const reason = cleanLine(e.failure_reason ?? '', 160, secrets).text;
    lines.push(`  ✗ ${name}${where}${reason ? `: ${reason}` : ''}`);
  }
  if (groups.length > LOGGED_TESTS) lines.push(`  … and ${groups.length - LOGGED_TESTS} more tests in the annotation`);
  return lines;
}
