/**
 * The annotation of one suite (SPEC.md step 6): verdict, exact failure count, link to the run, then the
 * failures grouped by test. Everything from the API is cleaned (sanitize.ts) and escaped (escape.ts); each
 * failure is cut to a size that leaves room for the others; the body stays under Buildkite's limit.
 */
import { formatSeconds } from '../clock.js';
import { excusedIds, type ExcusedTest, type Excuses } from '../gate/excuse.js';
import { VERDICTS, isExcusedPass, type SuiteOutcome } from '../gate/verdict.js';
import { cleanLine, cleanText } from '../sanitize.js';
import type { Secrets } from '../secrets.js';
import { escapeInline, escapePre, safeHref } from './escape.js';
import { groupByTest, type TestGroup } from './failure-summary.js';

/**
 * Buildkite refuses an annotation body over 1 MiB, counted in bytes after the agent redacts secrets (which
 * can lengthen short ones). 64 KiB of margin covers that and the footer.
 */
export const ANNOTATION_LIMIT_BYTES = 1024 * 1024;
export const ANNOTATION_BUDGET_BYTES = ANNOTATION_LIMIT_BYTES - 64 * 1024;

export interface RenderOptions {
  readonly secrets?: Secrets;
  /** Byte budget of the whole body (tests shrink it). */
  readonly budgetBytes?: number;
}

/** How much of one failure is shown, from generous to terse; a failure gets the first level that fits. */
const DETAIL_LEVELS = [
  { reason: 4000, lines: 40, backtrace: 10, lineChars: 400 },
  { reason: 2000, lines: 20, backtrace: 6, lineChars: 300 },
  { reason: 800, lines: 8, backtrace: 3, lineChars: 200 },
  { reason: 300, lines: 0, backtrace: 0, lineChars: 0 },
] as const;
type DetailLevel = (typeof DETAIL_LEVELS)[number];
const NAME_CHARS = 300;
const MIN_BLOCK_BYTES = 4 * 1024;
const MAX_BLOCK_BYTES = 48 * 1024;
const MAX_EXTRA_LINKS = 10;

/** Excused tests listed one line each, before "and N more". */
const MAX_EXCUSED_LINES = 100;

export function renderAnnotation(outcome: SuiteOutcome, options: RenderOptions = {}): string {
  const secrets = options.secrets;
  const budget = options.budgetBytes ?? ANNOTATION_BUDGET_BYTES;
  const runHref = safeHref(outcome.run?.web_url);
  const runLink = runHref ? `<a href="${runHref}">Open the run in Test Engine</a>` : '';
  const suite = `<code>${escapeInline(outcome.suite)}</code>`;
  const reason = escapeInline(cleanLine(outcome.reason, 2000, secrets).text);
  const took = `checked in ${formatSeconds(outcome.elapsedMs)}`;

  const icon = VERDICTS[outcome.verdict].icon;
  const advice = (outcome.advice ?? []).map((a) => `<li>${escapeInline(cleanLine(a, 500, secrets).text)}</li>`).join('');
  const adviceList = advice ? `<ul>${advice}</ul>\n` : '';
  switch (outcome.verdict) {
    case 'passed':
      if (isExcusedPass(outcome)) return renderFailed(outcome, { suite, runLink, runHref, took, secrets, budget });
      return `<h3>${icon} Test Engine: ${suite} passed</h3>\n<p>${reason} · ${took}${runLink ? ` · ${runLink}` : ''}</p>\n`;
    case 'inconclusive':
      return `<h3>${icon} Test Engine: ${suite} is inconclusive</h3>\n<p>${reason} · ${took}${runLink ? ` · ${runLink}` : ''}</p>\n${adviceList}`;
    case 'error':
      return `<h3>${icon} Test Engine gate could not check ${suite}</h3>\n<p>${reason}</p>\n${adviceList}`;
    case 'failed':
      return renderFailed(outcome, { suite, runLink, runHref, took, secrets, budget });
  }
}

interface FailedContext {
  readonly suite: string;
  readonly runLink: string;
  readonly runHref: string | undefined;
  readonly took: string;
  readonly secrets: Secrets | undefined;
  readonly budget: number;
}

/** A failed run: its failures in full; with step 5b, the excused tests apart. An excused pass shows the same, as info. */
function renderFailed(outcome: SuiteOutcome, ctx: FailedContext): string {
  const failures = outcome.failures;
  const excuses = outcome.excuses;
  const excusedPass = isExcusedPass(outcome);
  const heading = excusedPass
    ? `<h3>ℹ️ Test Engine: ${ctx.suite} passed — the run failed only on excused tests</h3>\n`
    : `<h3>${VERDICTS.failed.icon} Test Engine: ${ctx.suite} failed`;
  const note = excuses?.note ? `<p>${escapeInline(cleanLine(excuses.note, 800, ctx.secrets).text)}</p>\n` : '';
  const excusedBody = excuses ? renderExcused(excuses, ctx.secrets) : '';
  if (!failures) {
    const why = escapeInline(cleanLine(outcome.failuresError ?? 'unknown error', 500, ctx.secrets).text);
    return (
      (excusedPass ? heading : `${heading}</h3>\n`) +
      `<p>${ctx.runLink ? `${ctx.runLink} · ` : ''}${ctx.took}</p>\n` +
      `<p>The run failed, but its failures could not be listed (${why}). See the run for them.</p>\n` +
      note +
      excusedBody
    );
  }
  const total = failures.total.toLocaleString('en-US');
  const count = `${failures.exact ? '' : 'at least '}${total} failed execution${failures.total === 1 ? '' : 's'}`;
  if (excusedPass) {
    const reason = escapeInline(cleanLine(outcome.reason, 500, ctx.secrets).text);
    return `${heading}<p>${reason[0]!.toUpperCase()}${reason.slice(1)} (${count} in all). ${ctx.runLink ? `${ctx.runLink} · ` : ''}${ctx.took}</p>\n\n${excusedBody}`;
  }
  // The Failed section holds the failures that nothing excuses; the excused tests have their own sections.
  const excused = excusedIds(excuses);
  const unexcused = failures.executions.filter((e) => !e.test_id || !excused.has(e.test_id));
  const groups = groupByTest(unexcused);
  const shownNote =
    failures.executions.length < failures.total
      ? ` · the first ${failures.executions.length.toLocaleString('en-US')} below, by test`
      : '';
  let body =
    `${heading} — ${count}</h3>\n` +
    `<p>${ctx.runLink ? `${ctx.runLink} · ` : ''}${ctx.took}${shownNote}</p>\n` +
    note +
    (excuses ? `<h4>Failed</h4>\n` : '') +
    '\n';

  // The excused sections come last but are sized first: the failures share what is left.
  let bytes = Buffer.byteLength(body) + Buffer.byteLength(excusedBody);
  let shown = 0;
  const footerReserve = 512;
  for (let i = 0; i < groups.length; i++) {
    const available = ctx.budget - bytes - footerReserve;
    const share = Math.min(MAX_BLOCK_BYTES, Math.max(MIN_BLOCK_BYTES, Math.floor(available / (groups.length - i))));
    const block = renderGroupWithin(groups[i]!, share, ctx.secrets);
    const size = Buffer.byteLength(block);
    if (size > available) break;
    body += block;
    bytes += size;
    shown += groups[i]!.executions.length;
  }
  // Failed executions of excused tests are shown in their sections, not counted as missing here.
  const excusedExecutions = failures.executions.length - unexcused.length;
  const more = failures.total - shown - excusedExecutions;
  if (more > 0) {
    const moreText = `${failures.exact ? '' : 'at least '}${more.toLocaleString('en-US')} more failure${more === 1 ? '' : 's'}`;
    body += ctx.runHref
      ? `<p><strong>${moreText} — <a href="${ctx.runHref}">see the run</a></strong></p>\n`
      : `<p><strong>${moreText} — see the run</strong></p>\n`;
  }
  return body + excusedBody;
}

/** SPEC.md step 6: the Passed on retry and Muted sections, one line per test, each with its count. */
function renderExcused(excuses: Excuses, secrets: Secrets | undefined): string {
  const section = (title: string, tests: readonly ExcusedTest[]) => {
    if (tests.length === 0) return '';
    const count = `${excuses.complete ? '' : 'at least '}${tests.length.toLocaleString('en-US')} test${tests.length === 1 ? '' : 's'}`;
    const items = tests.slice(0, MAX_EXCUSED_LINES).map((t) => {
      const name = escapeInline(cleanLine(t.name, NAME_CHARS, secrets).text);
      const href = safeHref(t.webUrl);
      const where = t.location ? ` <code>${escapeInline(cleanLine(t.location, NAME_CHARS, secrets).text)}</code>` : '';
      return `<li>${href ? `<a href="${href}">${name}</a>` : name}${where} · ${t.failed} failed / ${t.passed} passed</li>`;
    });
    const more = tests.length > MAX_EXCUSED_LINES ? `<li>… and ${(tests.length - MAX_EXCUSED_LINES).toLocaleString('en-US')} more</li>` : '';
    return `<h4>${title} — ${count}</h4>\n<ul>\n${items.join('\n')}${more}\n</ul>\n`;
  };
  return section('Passed on retry', excuses.flaky) + section('Muted', excuses.muted);
}

function renderGroupWithin(group: TestGroup, maxBytes: number, secrets: Secrets | undefined): string {
  let block = '';
  for (const level of DETAIL_LEVELS) {
    block = renderGroup(group, level, secrets);
    if (Buffer.byteLength(block) <= maxBytes) break;
  }
  return block;
}

function truncationMarker(omitted: number): string {
  return omitted > 0 ? ` … [${omitted.toLocaleString('en-US')} more characters cut]` : '';
}

function renderGroup(group: TestGroup, level: DetailLevel, secrets: Secrets | undefined): string {
  const first = group.executions[0]!;
  const name = cleanLine(first.test_name ?? '', NAME_CHARS, secrets);
  const summary: string[] = [`<strong>${name.text ? escapeInline(name.text) : '(unnamed test)'}${name.omitted ? '…' : ''}</strong>`];
  if (first.location) summary.push(`<code>${escapeInline(cleanLine(first.location, NAME_CHARS, secrets).text)}</code>`);
  if (typeof first.duration === 'number' && Number.isFinite(first.duration)) summary.push(formatDuration(first.duration));
  if (group.executions.length > 1) summary.push(`failed ${group.executions.length}×`);

  const reason = cleanText(first.failure_reason || '(no failure reason)', level.reason, secrets);
  let pre = escapePre(reason.text) + truncationMarker(reason.omitted);
  // Lines past the budget are counted, never dropped silently (SPEC.md step 6): one marker says how many.
  let linesLeft = level.lines;
  let hidden = 0;
  for (const entry of first.failure_expanded ?? []) {
    const backtrace = entry.backtrace ?? [];
    const lines = [
      ...(entry.expanded ?? []).map((l) => ({ l, indent: '' })),
      ...backtrace.slice(0, level.backtrace).map((l) => ({ l, indent: '    ' })),
    ];
    hidden += backtrace.length - Math.min(backtrace.length, level.backtrace);
    for (const { l, indent } of lines) {
      if (linesLeft <= 0) {
        hidden++;
        continue;
      }
      linesLeft--;
      const line = cleanLine(l, level.lineChars, secrets, true);
      pre += `\n${indent}${escapePre(line.text)}${truncationMarker(line.omitted)}`;
    }
  }
  if (hidden > 0) pre += `\n… ${hidden.toLocaleString('en-US')} more line${hidden === 1 ? '' : 's'} cut`;

  const links: string[] = [];
  const href = safeHref(first.test_execution_url);
  if (href) links.push(`<a href="${href}">Open this execution</a>`);
  const testHref = safeHref(first.test_url);
  if (testHref) links.push(`<a href="${testHref}">test history</a>`);
  const others = group.executions.slice(1, 1 + MAX_EXTRA_LINKS).flatMap((e, i) => {
    const h = safeHref(e.test_execution_url);
    return h ? [`<a href="${h}">#${i + 2}</a>`] : [];
  });
  if (others.length) links.push(`other executions: ${others.join(' ')}`);

  return (
    `<details>\n<summary>${summary.join(' · ')}</summary>\n\n` +
    // A <pre> that opens a line starts an HTML block that only </pre> ends, so blank lines in it are safe.
    `<pre>${pre}</pre>\n\n` +
    (links.length ? `<p>${links.join(' · ')}</p>\n` : '') +
    `</details>\n\n`
  );
}

function formatDuration(seconds: number): string {
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  return `${seconds < 10 ? seconds.toFixed(2) : seconds.toFixed(1)} s`;
}
