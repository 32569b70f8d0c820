import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FailedExecution } from '../../src/api/schemas.js';
import { annotationStyle, type SuiteOutcome } from '../../src/gate/verdict.js';
import { annotationContext } from '../../src/report/context.js';
import { escapeInline, safeHref } from '../../src/report/escape.js';
import { ANNOTATION_BUDGET_BYTES, renderAnnotation } from '../../src/report/render-annotation.js';
import { cleanText } from '../../src/sanitize.js';
import { Secrets } from '../../src/secrets.js';

const RUN = { id: 'r1', state: 'finished' as const, result: 'failed' as const, web_url: 'https://buildkite.com/acme/runs/r1' };
const TOKEN = 'bkua_supersecret_0123456789abcdef';
const SECRETS = new Secrets().add(TOKEN);

function failed(executions: FailedExecution[], total = executions.length, exact = true): SuiteOutcome {
  return {
    suite: 'web',
    verdict: 'failed',
    reason: 'the run finished with failed tests',
    run: RUN,
    failures: { executions, total, exact },
    elapsedMs: 4_200,
  };
}

/** The text of the annotation outside tags, decoded: what a reader sees. */
function visibleText(html: string): string {
  return html
    .replace(/<[^>]*>/g, '')
    .replace(/&#(\d+);/g, (_, n) => String.fromCodePoint(Number(n)))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');
}

/** Every tag in the body must be one the renderer writes itself. */
const OWN_TAGS = /^<\/?(h3|p|a|code|strong|details|summary|pre)( href="https?:\/\/[^"<>]*")?>$/;

describe('renderAnnotation', () => {
  it('shows the verdict, the exact count, the run link and each failure with its details', () => {
    const body = renderAnnotation(
      failed(
        [
          {
            test_id: 't1',
            test_name: 'User validates email',
            location: './spec/models/user_spec.rb:23',
            duration: 1.5,
            failure_reason: 'expected true, got false',
            failure_expanded: [{ expanded: ['  expected: true'], backtrace: ['user_spec.rb:23', 'helper.rb:4'] }],
            test_execution_url: 'https://buildkite.com/acme/tests/t1?execution_id=e1',
          },
        ],
        1_234,
      ),
    );
    expect(body).toContain('failed — 1,234 failed executions</h3>');
    expect(body).toContain('<a href="https://buildkite.com/acme/runs/r1">Open the run in Test Engine</a>');
    expect(body).toContain('<strong>User validates email</strong>');
    expect(body).toContain('<code>./spec/models/user&#95;spec.rb&#58;23</code> · 1.50 s');
    expect(body).toContain('<pre>expected true, got false\n  expected: true\n    user_spec.rb:23\n    helper.rb:4</pre>');
    expect(body).toContain('<a href="https://buildkite.com/acme/tests/t1?execution_id=e1">Open this execution</a>');
    expect(body).toContain('1,233 more failures — <a href="https://buildkite.com/acme/runs/r1">see the run</a>');
  });

  it('groups executions of one test and counts them', () => {
    const e = (id: string, test: string): FailedExecution => ({
      test_id: test,
      test_name: `name ${test}`,
      test_execution_url: `https://buildkite.com/x?execution_id=${id}`,
    });
    const body = renderAnnotation(failed([e('1', 'A'), e('2', 'B'), e('3', 'A'), e('4', 'A')]));
    expect(body.match(/<details>/g)).toHaveLength(2);
    expect(body).toMatch(/name A<\/strong> · failed 3×/);
    expect(body).toContain('other executions: <a href="https://buildkite.com/x?execution_id=3">#2</a> <a href="https://buildkite.com/x?execution_id=4">#3</a>');
    expect(body.indexOf('name A')).toBeLessThan(body.indexOf('name B'));
    expect(body).not.toContain('more failure');
  });

  it('says "at least" without an exact total', () => {
    const body = renderAnnotation(failed([{ test_name: 'x' }], 100, false));
    expect(body).toContain('at least 100 failed executions');
    expect(body).toContain('at least 99 more failures');
  });

  it('renders what is there when optional fields are missing or null', () => {
    const body = renderAnnotation(failed([{ test_name: null, location: null, failure_reason: null, duration: null, failure_expanded: null }]));
    expect(body).toContain('<strong>(unnamed test)</strong></summary>');
    expect(body).toContain('<pre>(no failure reason)</pre>');
  });

  it('escapes HTML and Markdown from test output, strips ANSI and redacts the token', () => {
    const hostile: FailedExecution = {
      test_name: '<img src=x onerror=alert(1)> [click](https://evil.example) ![i](https://evil.example/i.png)',
      location: '`</code><script>',
      failure_reason: `\u001b[31mboom\u001b[0m </pre></details><h1>pwned</h1>\n\`\`\`\nfence\n\`\`\`\ntoken=${TOKEN}\u0007\u202e`,
      failure_expanded: [{ expanded: ['<b>bold</b>'], backtrace: ['[x](javascript:alert(1))'] }],
      test_execution_url: 'javascript:alert(1)',
    };
    const body = renderAnnotation(failed([hostile]), { secrets: SECRETS });
    for (const tag of body.match(/<[^>]*>/g)!) expect(tag).toMatch(OWN_TAGS);
    expect(body).not.toContain(TOKEN);
    expect(visibleText(body)).toContain('token=[REDACTED]');
    expect(body).not.toContain('\u001b');
    expect(body).not.toContain('\u0007');
    expect(body).not.toContain('\u202e');
    expect(body).not.toContain('```');
    expect(body).not.toMatch(/\]\(/);
    expect(body).not.toMatch(/href="(?!https?:)/);
    expect(body).not.toContain('Open this execution'); // its URL was javascript:
    expect(visibleText(body)).toContain('boom </pre></details><h1>pwned</h1>');
  });

  it('cuts a huge failure reason with a visible marker, at a character boundary, at bounded cost', () => {
    const reason = '😀'.repeat(1_500_000); // 3 MB of surrogate pairs
    const body = renderAnnotation(failed([{ test_name: 'big', failure_reason: reason }]));
    expect(body).toMatch(/… \[[\d,]+ more characters cut\]<\/pre>/);
    expect(body).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/); // no lone high surrogate
    expect(Buffer.byteLength(body)).toBeLessThan(20_000);
  });

  it('keeps the whole body under the budget, with a footer for what did not fit', () => {
    const executions = Array.from({ length: 500 }, (_, i) => ({
      test_id: `t${i}`,
      test_name: `test ${i}`,
      failure_reason: '<&>'.repeat(5_000),
      failure_expanded: [{ expanded: Array(50).fill('<'.repeat(400)), backtrace: Array(50).fill('x'.repeat(400)) }],
    }));
    const body = renderAnnotation(failed(executions, 100_000));
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(ANNOTATION_BUDGET_BYTES);
    const shown = body.match(/<details>/g)!.length;
    expect(body).toContain(`${(100_000 - shown).toLocaleString('en-US')} more failures`);
  });

  it('annotates the other verdicts with their style and reason', () => {
    const base = { suite: 'web', elapsedMs: 1_000, run: RUN };
    const inconclusive: SuiteOutcome = { ...base, verdict: 'inconclusive', reason: 'Test Engine marked the run stale' };
    expect(annotationStyle(inconclusive)).toBe('warning');
    expect(renderAnnotation(inconclusive)).toContain('is inconclusive</h3>\n<p>Test Engine marked the run stale');
    const error: SuiteOutcome = { suite: 'web', elapsedMs: 0, verdict: 'error', reason: 'GET /x found nothing (404 Not Found) <b>' };
    expect(annotationStyle(error)).toBe('error');
    expect(renderAnnotation(error)).toContain('404 Not Found&#41; &lt;b&gt;');
    expect(annotationStyle({ ...base, run: { ...RUN, result: 'passed' }, verdict: 'passed', reason: 'ok' })).toBe('success');
    // A pass of a run that failed only on excused tests is reported, as info.
    expect(annotationStyle({ ...base, verdict: 'passed', reason: 'ok' })).toBe('info');
  });

  it('never drops expanded or backtrace lines past the budget without a marker', () => {
    const expanded = Array.from({ length: 100 }, (_, i) => `expanded line ${i}`);
    const backtrace = Array.from({ length: 30 }, (_, i) => `frame ${i}`);
    const body = renderAnnotation(failed([{ test_id: 't', test_name: 'long', failure_reason: 'boom', failure_expanded: [{ expanded, backtrace }] }]));
    const text = visibleText(body);
    expect(text).toContain('expanded line 39');
    expect(text).not.toContain('expanded line 40');
    // 60 expanded lines over the budget, and every frame: the first 10 fit no budget left, the other 20 are past the frame limit.
    expect(text).toMatch(/… 90 more lines cut/);
  });

  it('says when a failed run’s failures could not be listed', () => {
    const outcome: SuiteOutcome = { suite: 'web', verdict: 'failed', reason: 'failed', run: RUN, failuresError: 'answered 502', elapsedMs: 0 };
    expect(renderAnnotation(outcome)).toContain('could not be listed (answered 502)');
  });
});

describe('renderAnnotation, property: any failure list', () => {
  const text = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.constantFrom('<script>', '</details>', '</pre>', '```', '[a](http://x)', '![i](http://x)', '\u001b[1m', TOKEN, '\r\n', '&amp;'),
    fc.string({ maxLength: 20_000 }),
  );
  const execution = fc.record(
    {
      test_id: fc.option(fc.constantFrom('a', 'b', 'c', 'd', 'e'), { nil: null }),
      test_name: fc.option(text, { nil: null }),
      location: fc.option(text, { nil: undefined }),
      failure_reason: fc.option(text, { nil: null }),
      duration: fc.option(fc.double({ noNaN: false }), { nil: null }),
      failure_expanded: fc.option(fc.array(fc.record({ expanded: fc.array(text, { maxLength: 5 }), backtrace: fc.array(text, { maxLength: 5 }) }), { maxLength: 3 }), { nil: null }),
      test_execution_url: fc.option(fc.oneof(fc.webUrl(), text), { nil: null }),
    },
    { requiredKeys: [] },
  );

  it('stays under the cap, contains only its own tags, leaks no token, and shows or counts every test', () => {
    fc.assert(
      fc.property(fc.array(execution, { maxLength: 60 }), fc.integer({ min: 0, max: 5_000 }), (executions, extra) => {
        const budget = 64 * 1024;
        const total = executions.length + extra;
        const body = renderAnnotation(failed(executions, total), { secrets: SECRETS, budgetBytes: budget });
        expect(Buffer.byteLength(body)).toBeLessThanOrEqual(budget);
        for (const tag of body.match(/<[^>]*>/g) ?? []) expect(tag).toMatch(OWN_TAGS);
        expect(body).not.toContain(TOKEN);
        expect(body).not.toMatch(/[\u0000-\u0008\u000B-\u001F\u007F]/);
        const shown = (body.match(/<details>/g) ?? []).length;
        const more = /([\d,]+) more failures?/.exec(body);
        const counted = more ? Number(more[1]!.replace(/,/g, '')) : 0;
        // Every execution is either in a shown group, under its test's name, or counted in the footer.
        const groups = new Map<string, FailedExecution[]>();
        executions.forEach((e, i) => {
          const key = e.test_id ?? `solo${i}`;
          groups.set(key, [...(groups.get(key) ?? []), e]);
        });
        const shownGroups = [...groups.values()].slice(0, shown);
        expect(shownGroups.reduce((n, g) => n + g.length, 0) + counted).toBe(total);
        for (const [first] of shownGroups) {
          const name = escapeInline(cleanText(first!.test_name ?? '', 300, SECRETS).text.replace(/\s+/g, ' ').trim());
          expect(body).toContain(name ? `<strong>${name.slice(0, 50)}` : '<strong>(unnamed test)');
        }
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('helpers', () => {
  it('annotationContext appends the suite only for several suites and keeps long ones unique', () => {
    expect(annotationContext('test-engine-gate', 'web', false)).toBe('test-engine-gate');
    expect(annotationContext('test-engine-gate', 'web', true)).toBe('test-engine-gate-web');
    const a = annotationContext('c'.repeat(90), 'suite-one-long', true);
    const b = annotationContext('c'.repeat(90), 'suite-two-long', true);
    expect(a).toHaveLength(100);
    expect(b).toHaveLength(100);
    expect(a).not.toBe(b);
  });

  it('safeHref keeps http(s) only', () => {
    expect(safeHref('https://buildkite.com/a?b=1&c="2"')).toBe('https://buildkite.com/a?b=1&amp;c=%222%22');
    expect(safeHref('javascript:alert(1)')).toBeUndefined();
    expect(safeHref('data:text/html,x')).toBeUndefined();
    expect(safeHref('not a url')).toBeUndefined();
  });
});
