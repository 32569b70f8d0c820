/** The verdict of a suite as log lines: a title for the group, then the failing tests, one line each. */
import { formatSeconds } from '../clock.js';
import { VERDICTS, type SuiteOutcome } from '../gate/verdict.js';
import { cleanLine } from '../sanitize.js';
import type { Secrets } from '../secrets.js';
import { LOGGED_TESTS } from './budget.js';
import { countPhrase, failureLine, unexcusedFailures } from './failure-summary.js';
import { NO_SOURCE, type SourceContext } from './source.js';


/** The group title: the verdict and, for a failed run, the same count as the annotation's heading. */
export function verdictTitle(outcome: SuiteOutcome): string {
  const unexcused = outcome.verdict === 'failed' ? unexcusedFailures(outcome) : undefined;
  const count = unexcused ? ` — ${countPhrase(unexcused)}` : '';
  return `${VERDICTS[outcome.verdict].emoji} Test Engine gate: ${outcome.suite} ${outcome.verdict}${count} (${formatSeconds(outcome.elapsedMs)})`;
}

/** `report`: what the host calls the full report — the annotation, the job summary. */
export function verdictLines(outcome: SuiteOutcome, secrets: Secrets, report = 'the annotation', source: SourceContext = NO_SOURCE): string[] {
  const lines = [cleanLine(outcome.reason, 2000, secrets).text];
  for (const advice of outcome.advice ?? []) lines.push(`  → ${cleanLine(advice, 500, secrets).text}`);
  if (outcome.run?.web_url) lines.push(`run: ${cleanLine(outcome.run.web_url, 500).text}`);
  if (outcome.failures?.cutShort) lines.push(`not every failure could be listed: ${cleanLine(outcome.failures.cutShort, 500, secrets).text}`);
  if (outcome.failuresError) lines.push(`the failures could not be listed: ${cleanLine(outcome.failuresError, 500, secrets).text}`);
  const excuses = outcome.excuses;
  if (excuses?.note) lines.push(cleanLine(excuses.note, 800, secrets).text);
  const groups = unexcusedFailures(outcome)?.groups ?? [];
  if (outcome.verdict !== 'passed') {
    for (const group of groups.slice(0, LOGGED_TESTS)) {
      const { name, location, reason } = failureLine(group.executions[0]!, secrets, 160, source);
      lines.push(`  ✗ ${name}${location ? ` (${location})` : ''}${reason ? `: ${reason}` : ''}`);
    }
    if (groups.length > LOGGED_TESTS) lines.push(`  … and ${groups.length - LOGGED_TESTS} more tests in ${report}`);
  }
  const more = excuses?.complete === false ? 'at least ' : '';
  for (const [mark, label, tests] of [['↻', 'passed on retry', excuses?.flaky ?? []], ['🔇', 'muted', excuses?.muted ?? []]] as const) {
    if (tests.length === 0) continue;
    lines.push(`${more}${tests.length} ${tests.length === 1 ? 'test' : 'tests'} ${label}:`);
    for (const t of tests.slice(0, LOGGED_TESTS)) {
      lines.push(`  ${mark} ${cleanLine(t.name, 200, secrets).text}${t.location ? ` (${cleanLine(t.location, 200, secrets).text})` : ''}: ${t.failed} failed, ${t.passed} passed`);
    }
    if (tests.length > LOGGED_TESTS) lines.push(`  … and ${tests.length - LOGGED_TESTS} more in ${report}`);
  }
  return lines;
}
