/**
 * The annotation of one suite (SPEC.md step 6), written for a reviewer who has ten seconds: the verdict with
 * how many tests and executions failed, then one collapsed line per failing test that already says why it
 * failed; opened, the reason, the expanded lines that do not repeat it, and the backtrace apart. Every cut
 * leaves a marker on a line of its own. Everything from the API is cleaned (sanitize.ts) and escaped
 * (escape.ts); budget.ts holds every size and line budget.
 */
import type { FailedExecution } from '../api/schemas.js';
import type { ExcusedTest, Excuses } from '../gate/excuse.js';
import type { JobWithoutFailedTest } from '../gate/failed-jobs.js';
import { VERDICTS, isExcusedPass, type SuiteOutcome } from '../gate/verdict.js';
import { cleanLine, cleanText } from '../sanitize.js';
import type { Secrets } from '../secrets.js';
import {
  DEFAULT_ANNOTATION_BYTES,
  DETAIL_LEVELS,
  MAX_EXCUSED_LINES,
  MAX_EXECUTION_LINKS,
  MAX_TEST_BYTES,
  MIN_TEST_BYTES,
  NAME_CHARS,
  SUMMARY_REASON_CHARS,
  type DetailLevel,
} from './budget.js';
import { escapeInline, escapePre, safeHref } from './escape.js';
import { countPhrase, failureLine, unexcusedFailures, type TestGroup } from './failure-summary.js';
import { NO_SOURCE, foldLabel, locationIn, projectFrames, type ShownFrame, type SourceContext } from './source.js';
import { plural } from '../plural.js';

export interface RenderOptions {
  readonly secrets?: Secrets;
  /** The checkout and repository the failures point into (SPEC.md step 6); none by default. */
  readonly source?: SourceContext;
  /** Byte budget of the whole body: annotationBudget(max-failures) by default. */
  readonly budgetBytes?: number;
}

/** Of the budget, the excused sections take at most this beside failures (the failures come first), the jobs of step 5c this. */
const EXCUSED_SHARE = 1 / 3;
const JOBS_SHARE = 1 / 8;
/** An excused pass has no failures in full: its sections may take all but the heading's room. */
const HEAD_SHARE = 1 / 16;

/** What every part of one annotation needs. */
interface Context {
  readonly suite: string;
  readonly runLink: string;
  readonly runHref: string | undefined;
  readonly secrets: Secrets | undefined;
  readonly budget: number;
  readonly source: SourceContext;
}

export function renderAnnotation(outcome: SuiteOutcome, options: RenderOptions = {}): string {
  const total = options.budgetBytes ?? DEFAULT_ANNOTATION_BYTES;
  const jobs = renderFailedJobs(outcome.failedJobs ?? [], options.secrets, Math.floor(total * JOBS_SHARE));
  const budgetBytes = total - Buffer.byteLength(jobs);
  return renderVerdict(outcome, { ...options, budgetBytes }) + jobs;
}

function renderVerdict(outcome: SuiteOutcome, options: RenderOptions): string {
  const secrets = options.secrets;
  const runHref = safeHref(outcome.run?.web_url);
  const ctx: Context = {
    suite: `<code>${escapeInline(outcome.suite)}</code>`,
    runLink: runHref ? `<a href="${runHref}">Open the run in Test Engine</a>` : '',
    runHref,
    secrets,
    budget: options.budgetBytes ?? DEFAULT_ANNOTATION_BYTES,
    source: options.source ?? NO_SOURCE,
  };
  const reason = sentence(inline(outcome.reason, 2000, secrets));
  const advice = (outcome.advice ?? []).map((a) => `<li>${inline(a, 800, secrets)}</li>`).join('\n');
  const icon = VERDICTS[outcome.verdict].icon;
  switch (outcome.verdict) {
    case 'passed':
      if (isExcusedPass(outcome)) return renderFailed(outcome, ctx);
      return `<h3>${icon} Test Engine: ${ctx.suite} passed</h3>\n\n<p>${reason}${ctx.runLink ? ` ${ctx.runLink}` : ''}</p>\n\n`;
    case 'inconclusive':
      // What happened in one sentence, then what to do.
      return (
        `<h3>${icon} Test Engine: ${ctx.suite} is inconclusive</h3>\n\n<p>${reason}${ctx.runLink ? ` ${ctx.runLink}` : ''}</p>\n\n` +
        (advice ? `<p><strong>What to do</strong></p>\n\n<ul>\n${advice}\n</ul>\n\n` : '')
      );
    case 'error': {
      // A setup problem, not a test failure: the fix first, then the detail, then where it is explained.
      const docs = outcome.docs && safeHref(outcome.docs.url);
      return (
        `<h3>${icon} Test Engine gate: a setup problem, not a test failure (${ctx.suite})</h3>\n\n` +
        (advice ? `<p><strong>To fix</strong></p>\n\n<ul>\n${advice}\n</ul>\n\n` : '') +
        `<p>${reason}</p>\n\n` +
        (docs ? `<p>See <a href="${docs}">${escapeInline(outcome.docs!.title)}</a>.</p>\n\n` : '')
      );
    }
    case 'failed':
      return renderFailed(outcome, ctx);
  }
}

/** A configuration error, for a host that reports one beyond the log (the Action's job summary): what to fix. */
export function renderConfigError(message: string, secrets?: Secrets): string {
  const lines = message.split('\n').map((l) => l.replace(/^- /, '')).filter(Boolean);
  const [first, ...rest] = lines.length > 1 && /configuration problems:$/.test(lines[0]!) ? [lines[0]!, ...lines.slice(1)] : ['', ...lines];
  const items = rest.map((l) => `<li>${inline(l, 800, secrets)}</li>`).join('\n');
  return `<h3>${VERDICTS.error.icon} Test Engine gate: a configuration error, not a test failure</h3>\n\n${first ? `<p>${inline(first, 200, secrets)}</p>\n\n` : ''}<ul>\n${items}\n</ul>\n\n<p>Fix the inputs of the step named above; nothing was sent to the API.</p>\n\n`;
}

/** A failed run: its unexcused failures in full, then the excused tests apart (step 5b). An excused pass shows the same, as info. */
function renderFailed(outcome: SuiteOutcome, ctx: Context): string {
  const { failures, excuses } = outcome;
  const excusedPass = isExcusedPass(outcome);
  const note = excuses?.note ? `<p>${inline(excuses.note, 800, ctx.secrets)}</p>\n\n` : '';
  const excusedBody = excuses ? renderExcused(excuses, ctx.secrets, Math.floor(ctx.budget * (excusedPass ? 1 - HEAD_SHARE : EXCUSED_SHARE))) : '';
  const runLine = ctx.runLink ? `<p>${ctx.runLink}</p>\n\n` : '';
  if (excusedPass) {
    const count = failures ? ` (${plural(failures.total, 'failed execution')} in all)` : '';
    return (
      `<h3>ℹ️ Test Engine: ${ctx.suite} passed — the run failed only on excused tests</h3>\n\n` +
      `<p>${sentence(inline(outcome.reason, 500, ctx.secrets)).replace(/\.$/, '')}${count}.${ctx.runLink ? ` ${ctx.runLink}` : ''}</p>\n\n${excusedBody}`
    );
  }
  const heading = `<h3>${VERDICTS.failed.icon} Test Engine: ${ctx.suite} failed`;
  if (!failures) {
    const why = inline(outcome.failuresError ?? 'unknown error', 500, ctx.secrets);
    return `${heading}</h3>\n\n${runLine}<p>The run failed, but its failures could not be listed (${why}). See the run for them.</p>\n\n${note}${excusedBody}`;
  }

  // The Failed section holds what nothing excuses; the excused tests have their own sections.
  const unexcused = unexcusedFailures(outcome)!;
  const groups = unexcused.groups;
  const cutShort = failures.cutShort ? `<p>Not every failure could be listed (${inline(failures.cutShort.replace(/[.\s]+$/, ''), 500, ctx.secrets)}): these are the ones read.</p>\n\n` : '';
  let body = `${heading} — ${countPhrase(unexcused)}</h3>\n\n${runLine}${cutShort}${note}${excuses ? '<h4>Failed</h4>\n\n' : ''}`;

  // The excused sections come last but are sized first: the failures share what is left.
  let bytes = Buffer.byteLength(body) + Buffer.byteLength(excusedBody);
  const footerReserve = 512;
  let shown = 0;
  for (let i = 0; i < groups.length; i++) {
    const available = ctx.budget - bytes - footerReserve;
    const share = Math.min(MAX_TEST_BYTES, Math.max(MIN_TEST_BYTES, Math.floor(available / (groups.length - i))));
    const block = renderTestWithin(groups[i]!, share, ctx.secrets, ctx.source);
    const size = Buffer.byteLength(block);
    if (size > available) break;
    body += block;
    bytes += size;
    shown += groups[i]!.executions.length;
  }
  // Failed executions of excused tests are in their sections, not missing here.
  const more = unexcused.total - shown - unexcused.excusedUncounted;
  if (more > 0) {
    const text = `${failures.exact ? '' : 'at least '}${more.toLocaleString('en-US')} more failure${more === 1 ? '' : 's'}`;
    body += ctx.runHref ? `<p><strong>${text} — <a href="${ctx.runHref}">see the run</a></strong></p>\n\n` : `<p><strong>${text} — see the run</strong></p>\n\n`;
  }
  return body + excusedBody;
}

const JOB_STATES: Readonly<Record<string, string>> = { failed: 'failed', timed_out: 'timed out', expired: 'expired', canceled: 'canceled', broken: 'broken' };

/** SPEC.md step 5c: the final jobs that did not pass although none of their tests failed, one line each. */
function renderFailedJobs(jobs: readonly JobWithoutFailedTest[], secrets: Secrets | undefined, maxBytes: number): string {
  if (jobs.length === 0) return '';
  const items = jobs.map((job) => {
    const name = inline(job.name, NAME_CHARS, secrets);
    const href = safeHref(job.webUrl);
    const state = [job.softFailed ? 'soft failed' : (JOB_STATES[job.state] ?? inline(job.state, 40, secrets))];
    if (job.exitStatus !== undefined) state.push(`exit status ${job.exitStatus}`);
    const why = job.recorded ? 'its recorded tests did not fail' : 'no test results recorded';
    return `<li>${href ? `<a href="${href}">${name}</a>` : name} · ${state.join(', ')} · ${why}</li>`;
  });
  const head =
    `<h4>Jobs that failed without a failed test — ${plural(jobs.length, 'job')}</h4>\n\n` +
    `<p>These jobs of the build did not pass, but no test of theirs failed: they crashed, timed out or failed outside their tests. They do not change the verdict.</p>\n\n`;
  return head + listWithin(items, maxBytes - Buffer.byteLength(head));
}

/**
 * `<ul>` of the items that fit in `maxBytes` (at most MAX_EXCUSED_LINES), and a last item that counts the rest:
 * a list is cut like every other part of the annotation, with a marker.
 */
function listWithin(items: readonly string[], maxBytes: number): string {
  const shown: string[] = [];
  let bytes = Buffer.byteLength('<ul>\n\n</ul>\n\n') + 64; // the marker's room
  for (const item of items.slice(0, MAX_EXCUSED_LINES)) {
    const size = Buffer.byteLength(item) + 1;
    if (bytes + size > maxBytes) break;
    shown.push(item);
    bytes += size;
  }
  const rest = items.length - shown.length;
  const more = rest > 0 ? `${shown.length ? '\n' : ''}<li>… and ${rest.toLocaleString('en-US')} more</li>` : '';
  return `<ul>\n${shown.join('\n')}${more}\n</ul>\n\n`;
}

/** SPEC.md step 6: the Passed on retry and Muted sections, one line per test, each with its count, within `maxBytes`. */
function renderExcused(excuses: Excuses, secrets: Secrets | undefined, maxBytes: number): string {
  const section = (title: string, tests: readonly ExcusedTest[], share: number) => {
    if (tests.length === 0) return '';
    const count = `${excuses.complete ? '' : 'at least '}${plural(tests.length, 'test')}`;
    const items = tests.map((t) => {
      const name = inline(t.name, NAME_CHARS, secrets);
      const href = safeHref(t.webUrl);
      const where = t.location ? ` <code>${inline(t.location, NAME_CHARS, secrets)}</code>` : '';
      return `<li>${href ? `<a href="${href}">${name}</a>` : name}${where} · ${t.failed} failed / ${t.passed} passed</li>`;
    });
    const head = `<h4>${title} — ${count}</h4>\n\n`;
    return head + listWithin(items, share - Buffer.byteLength(head));
  };
  // Each section gets its part of the budget by how many tests it lists.
  const all = excuses.flaky.length + excuses.muted.length;
  const shareOf = (n: number) => Math.floor((maxBytes * n) / Math.max(1, all));
  return section('Passed on retry', excuses.flaky, shareOf(excuses.flaky.length)) + section('Muted', excuses.muted, shareOf(excuses.muted.length));
}

/** The test at the most detailed level that fits its share of the budget. */
function renderTestWithin(group: TestGroup, maxBytes: number, secrets: Secrets | undefined, source: SourceContext): string {
  let block = '';
  for (const level of DETAIL_LEVELS) {
    block = renderTest(group, level, secrets, source);
    if (Buffer.byteLength(block) <= maxBytes) break;
  }
  return block;
}

function renderTest(group: TestGroup, level: DetailLevel, secrets: Secrets | undefined, source: SourceContext): string {
  const first = group.executions[0]!;
  const { location, reason: firstLine } = failureLine(first, secrets, SUMMARY_REASON_CHARS, source);
  // The collapsed line already says why: name, location, duration, repeats, the first line of the reason.
  const name = cleanLine(first.test_name ?? '', NAME_CHARS, secrets);
  const summary = [`<strong>${name.text ? escapeInline(name.text) + (name.omitted ? '…' : '') : '(unnamed test)'}</strong>`];
  if (location) {
    const spot = locationIn(first.location, source);
    const href = spot && safeHref(source.link?.(spot.path, spot.line));
    summary.push(href ? `<a href="${href}"><code>${escapeInline(location)}</code></a>` : `<code>${escapeInline(location)}</code>`);
  }
  if (typeof first.duration === 'number' && Number.isFinite(first.duration)) summary.push(formatDuration(first.duration));
  if (group.executions.length > 1) summary.push(`failed ${group.executions.length}×`);
  const why = firstLine ? ` — ${escapeInline(firstLine)}` : '';

  const reasonText = cleanText(first.failure_reason || '(no failure reason)', level.reason, secrets);
  const reasonLines = reasonText.text.replace(/\s+$/, '').split('\n');
  const reason = renderLines(reasonLines, Infinity, level.lineChars, secrets) + cutMarker(reasonText.omitted, 'character');

  const { expanded, backtrace } = expandedAndBacktrace(first, reasonLines);
  const expandedBlock = level.lines > 0 && expanded.length ? renderLines(expanded, level.lines, level.lineChars, secrets) : '';
  const expandedCut = level.lines > 0 ? Math.max(0, expanded.length - level.lines) : expanded.length;
  // The project's own frames, linked; each run of others folded into one line that says how many and where.
  const frames = projectFrames(backtrace, source);
  const backtraceBlock = level.backtrace > 0 && frames.length ? frames.slice(0, level.backtrace).map((f) => renderFrame(f, level.lineChars, secrets, source)).join('\n') : '';
  const backtraceCut = Math.max(0, frames.length - level.backtrace);

  // Each HTML block on lines of its own between blank lines (CommonMark): a block that follows another without
  // one joins it, and a blank line in test output would then end both and let the rest be read as Markdown.
  const blocks = [`<details>\n<summary>${summary.join(' · ')}${why}</summary>`, links(group), `<pre>${reason}</pre>`];
  if (expandedBlock || expandedCut) blocks.push(`<pre>${expandedBlock}${cutMarker(expandedCut, 'line', !expandedBlock)}</pre>`);
  if (backtraceBlock || backtraceCut) {
    blocks.push('<p><em>Backtrace</em></p>', `<pre>${backtraceBlock}${cutMarker(backtraceCut, 'backtrace line', !backtraceBlock)}</pre>`);
  }
  return `${blocks.filter(Boolean).join('\n\n')}\n\n</details>\n\n`;
}

/** A backtrace entry: a project frame with its path relative to the repository (linked when the host is known), or a fold. */
function renderFrame(shown: ShownFrame, lineChars: number, secrets: Secrets | undefined, source: SourceContext): string {
  if (shown.kind === 'fold') return escapePre(foldLabel(shown));
  const { frame, path } = shown;
  // The frame's own spacing kept (`    at `): cleaned of escapes and line breaks, not trimmed.
  const clean = (text: string) => escapePre(cleanText(text, lineChars, secrets).text.replace(/[\n\t]+/g, ' '));
  const spot = clean(`${path}${frame.between}${frame.line ?? ''}`);
  const href = safeHref(source.link?.(path, frame.line));
  return `${clean(frame.before)}${href ? `<a href="${href}">${spot}</a>` : spot}${clean(frame.after)}`;
}

/** The execution and the test's history, right under the summary; each execution of a repeated failure. */
function links(group: TestGroup): string {
  const first = group.executions[0]!;
  const parts: string[] = [];
  const executions = group.executions.slice(0, MAX_EXECUTION_LINKS).flatMap((e, i) => {
    const href = safeHref(e.test_execution_url);
    return href ? [`<a href="${href}">${i + 1}</a>`] : [];
  });
  if (group.executions.length > 1 && executions.length) {
    const more = group.executions.length > MAX_EXECUTION_LINKS ? ` … ${group.executions.length - MAX_EXECUTION_LINKS} more` : '';
    parts.push(`executions ${executions.join(' ')}${more}`);
  } else {
    const href = safeHref(first.test_execution_url);
    if (href) parts.push(`<a href="${href}">Open this execution</a>`);
  }
  const history = safeHref(first.test_url);
  if (history) parts.push(`<a href="${history}">test history</a>`);
  return parts.length ? `<p>${parts.join(' · ')}</p>` : '';
}

/** A failure's backtrace frames: `backtrace`, or the JavaScript collector's trailing `at …` lines in `expanded`. */
export function backtraceLines(execution: FailedExecution): string[] {
  return expandedAndBacktrace(execution, []).backtrace;
}

/** A JavaScript stack frame: `    at fn (file:line:col)`. */
const JS_FRAME = /^\s+at\s/;

/**
 * The expanded lines that do not repeat the reason (RSpec sends the message in both; the `Failure/Error:` line
 * is kept), and the backtrace frames, each as a list of lines.
 */
function expandedAndBacktrace(execution: FailedExecution, reasonLines: readonly string[]): { expanded: string[]; backtrace: string[] } {
  const inReason = new Set(reasonLines.map((l) => l.trim()).filter(Boolean));
  const expanded: string[] = [];
  const backtrace: string[] = [];
  for (const entry of execution.failure_expanded ?? []) {
    let lines = entry.expanded ?? [];
    let frames = entry.backtrace ?? [];
    // The JavaScript collector sends the stack in `expanded` and no backtrace: its trailing `at …` frames are one.
    if (frames.length === 0) {
      let start = lines.length;
      while (start > 0 && JS_FRAME.test(lines[start - 1]!)) start--;
      [lines, frames] = [lines.slice(0, start), lines.slice(start)];
    }
    for (const line of lines) {
      const trimmed = line.trim();
      if (trimmed && inReason.has(trimmed) && !trimmed.startsWith('Failure/Error:')) continue;
      expanded.push(line);
    }
    backtrace.push(...frames);
  }
  // Blank lines left at either end, or doubled, by the repeats taken out say nothing.
  const kept = expanded.filter((line, i) => line.trim() || (i > 0 && expanded[i - 1]!.trim()));
  while (kept.length && !kept[0]!.trim()) kept.shift();
  while (kept.length && !kept.at(-1)!.trim()) kept.pop();
  return { expanded: kept, backtrace };
}

/** Lines for a <pre>: each cleaned and escaped, a long one cut with its marker on the next line, at most `max`. */
function renderLines(lines: readonly string[], max: number, lineChars: number, secrets: Secrets | undefined): string {
  return lines
    .slice(0, max)
    .map((raw) => {
      const line = cleanLine(raw, lineChars, secrets, true);
      return escapePre(line.text) + cutMarker(line.omitted, 'character');
    })
    .join('\n');
}

/** "… 1,158 more characters" on a line of its own (after a newline unless the block is otherwise empty). */
function cutMarker(count: number, noun: 'character' | 'line' | 'backtrace line', alone = false): string {
  if (count <= 0) return '';
  return `${alone ? '' : '\n'}… ${count.toLocaleString('en-US')} more ${noun}${count === 1 ? '' : 's'}`;
}

function inline(text: string, maxChars: number, secrets: Secrets | undefined): string {
  const line = cleanLine(text, maxChars, secrets);
  return escapeInline(line.text) + (line.omitted ? '…' : '');
}

/** A reason as a sentence: capitalised, ending in a full stop. */
function sentence(text: string): string {
  if (!text) return text;
  const capital = text[0]!.toUpperCase() + text.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}


function formatDuration(seconds: number): string {
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  return `${seconds < 10 ? seconds.toFixed(2) : seconds.toFixed(1)} s`;
}
