/**
 * The annotation of one suite (SPEC.md step 6): verdict, exact failure count, link to the run, then the
 * failures grouped by test. Everything from the API is cleaned (sanitize.ts) and escaped (escape.ts); each
 * failure is cut to a size that leaves room for the others; the body stays under Buildkite's limit.
 */
import type { FailedExecution } from '../api/schemas.js';
import { formatSeconds } from '../clock.js';
import type { SuiteOutcome } from '../gate/outcome.js';
import { cleanLine, cleanText } from '../sanitize.js';
import { escapeInline, escapePre, safeHref } from './escape.js';

export type AnnotationStyle = 'success' | 'info' | 'warning' | 'error';

/**
 * Buildkite refuses an annotation body over 1 MiB, counted in bytes after the agent redacts secrets (which
 * can lengthen short ones). 64 KiB of margin covers that and the footer.
 */
export const ANNOTATION_LIMIT_BYTES = 1024 * 1024;
export const ANNOTATION_BUDGET_BYTES = ANNOTATION_LIMIT_BYTES - 64 * 1024;

export interface RenderOptions {
  readonly secrets?: readonly string[];
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

const STYLE: Record<SuiteOutcome['verdict'], AnnotationStyle> = {
  passed: 'success',
  failed: 'error',
  inconclusive: 'warning',
  error: 'error',
};

export function annotationStyle(outcome: SuiteOutcome): AnnotationStyle {
  return STYLE[outcome.verdict];
}

export function renderAnnotation(outcome: SuiteOutcome, options: RenderOptions = {}): string {
  const secrets = options.secrets ?? [];
  const budget = options.budgetBytes ?? ANNOTATION_BUDGET_BYTES;
  const runHref = safeHref(outcome.run?.web_url);
  const runLink = runHref ? `<a href="${runHref}">Open the run in Test Engine</a>` : '';
  const suite = `<code>${escapeInline(outcome.suite)}</code>`;
  const reason = escapeInline(cleanLine(outcome.reason, 2000, secrets).text);
  const took = `checked in ${formatSeconds(outcome.elapsedMs)}`;

  switch (outcome.verdict) {
    case 'passed':
      return `<h3>✅ Test Engine: ${suite} passed</h3>\n<p>${reason} · ${took}${runLink ? ` · ${runLink}` : ''}</p>\n`;
    case 'inconclusive':
      return `<h3>⚠️ Test Engine: ${suite} is inconclusive</h3>\n<p>${reason} · ${took}${runLink ? ` · ${runLink}` : ''}</p>\n`;
    case 'error':
      return `<h3>🛑 Test Engine gate could not check ${suite}</h3>\n<p>${reason}</p>\n`;
    case 'failed':
      return renderFailed(outcome, { suite, runLink, runHref, took, secrets, budget });
  }
}

interface FailedContext {
  readonly suite: string;
  readonly runLink: string;
  readonly runHref: string | undefined;
  readonly took: string;
  readonly secrets: readonly string[];
  readonly budget: number;
}

function renderFailed(outcome: SuiteOutcome, ctx: FailedContext): string {
  const failures = outcome.failures;
  if (!failures) {
    const why = escapeInline(cleanLine(outcome.failuresError ?? 'unknown error', 500, ctx.secrets).text);
    return (
      `<h3>❌ Test Engine: ${ctx.suite} failed</h3>\n` +
      `<p>${ctx.runLink ? `${ctx.runLink} · ` : ''}${ctx.took}</p>\n` +
      `<p>The run failed, but its failures could not be listed (${why}). See the run for them.</p>\n`
    );
  }
  const total = failures.total.toLocaleString('en-US');
  const count = `${failures.exact ? '' : 'at least '}${total} failed execution${failures.total === 1 ? '' : 's'}`;
  const groups = groupByTest(failures.executions);
  const shownNote =
    failures.executions.length < failures.total
      ? ` · the first ${failures.executions.length.toLocaleString('en-US')} below, by test`
      : '';
  let body =
    `<h3>❌ Test Engine: ${ctx.suite} failed — ${count}</h3>\n` +
    `<p>${ctx.runLink ? `${ctx.runLink} · ` : ''}${ctx.took}${shownNote}</p>\n\n`;

  let bytes = Buffer.byteLength(body);
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
  const more = failures.total - shown;
  if (more > 0) {
    const moreText = `${failures.exact ? '' : 'at least '}${more.toLocaleString('en-US')} more failure${more === 1 ? '' : 's'}`;
    body += ctx.runHref
      ? `<p><strong>${moreText} — <a href="${ctx.runHref}">see the run</a></strong></p>\n`
      : `<p><strong>${moreText} — see the run</strong></p>\n`;
  }
  return body;
}

interface TestGroup {
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

function renderGroupWithin(group: TestGroup, maxBytes: number, secrets: readonly string[]): string {
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

function renderGroup(group: TestGroup, level: DetailLevel, secrets: readonly string[]): string {
  const first = group.executions[0]!;
  const name = cleanLine(first.test_name ?? '', NAME_CHARS, secrets);
  const summary: string[] = [`<strong>${name.text ? escapeInline(name.text) : '(unnamed test)'}${name.omitted ? '…' : ''}</strong>`];
  if (first.location) summary.push(`<code>${escapeInline(cleanLine(first.location, NAME_CHARS, secrets).text)}</code>`);
  if (typeof first.duration === 'number' && Number.isFinite(first.duration)) summary.push(formatDuration(first.duration));
  if (group.executions.length > 1) summary.push(`failed ${group.executions.length}×`);

  const reason = cleanText(first.failure_reason || '(no failure reason)', level.reason, secrets);
  let pre = escapePre(reason.text) + truncationMarker(reason.omitted);
  let linesLeft = level.lines;
  for (const entry of first.failure_expanded ?? []) {
    const lines = [
      ...(entry.expanded ?? []).map((l) => ({ l, indent: '' })),
      ...(entry.backtrace ?? []).slice(0, level.backtrace).map((l) => ({ l, indent: '    ' })),
    ];
    for (const { l, indent } of lines) {
      if (linesLeft-- <= 0) break;
      const line = cleanLine(l, level.lineChars, secrets, true);
      pre += `\n${indent}${escapePre(line.text)}${truncationMarker(line.omitted)}`;
    }
    const hidden = (entry.expanded?.length ?? 0) + (entry.backtrace?.length ?? 0) - lines.length;
    if (level.lines > 0 && hidden > 0 && linesLeft > 0) pre += `\n    … ${hidden} more backtrace lines`;
  }

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
