import { HtmlRenderer, Parser } from 'commonmark';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FailedExecution } from '../../src/api/schemas.js';
import { annotationStyle, type SuiteOutcome } from '../../src/gate/verdict.js';
import { annotationContext } from '../../src/report/context.js';
import { escapeInline, safeHref } from '../../src/report/escape.js';
import { ANNOTATION_MAX_BYTES, annotationBudget } from '../../src/report/budget.js';
import { renderAnnotation } from '../../src/report/render-annotation.js';
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
    failures: { executions, total, exact, readTests: new Map(executions.map((e) => [e.test_id ?? null, e.test_name ?? undefined])) },
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
const OWN_TAGS = /^<\/?(h3|h4|p|a|code|strong|em|details|summary|pre|ul|li)( href="https?:\/\/[^"<>]*")?>$/;

/** An RSpec failure as Test Engine stores it: the message in the reason, and again in the expanded lines. */
const RSPEC: FailedExecution = {
  test_id: 't1',
  test_name: 'Checkout applies a percentage discount code',
  location: './spec/checkout/discount_spec.rb:42',
  duration: 1.284,
  failure_reason: 'expected: 90.0\n     got: 100.0\n\n(compared using ==)',
  failure_expanded: [
    {
      expanded: ['Failure/Error: expect(cart.total).to eq(90.0)', '', '  expected: 90.0', '       got: 100.0', '', '  (compared using ==)', 'request_id=req_4'],
      backtrace: Array.from({ length: 30 }, (_, i) => `./spec/checkout/discount_spec.rb:${42 + i}:in 'block'`),
    },
  ],
  test_url: 'https://buildkite.com/acme/tests/t1',
  test_execution_url: 'https://buildkite.com/acme/tests/t1?execution_id=e1',
};

describe('renderAnnotation: what a reviewer reads', () => {
  it('heads with the verdict, the failing tests and the run link, and says nothing of its own timing', () => {
    const body = renderAnnotation(failed([RSPEC], 1_234));
    expect(body).toMatch(/^<h3>❌ Test Engine: <code>web<\/code> failed — at least 1 failed test, 1,234 failed executions<\/h3>\n\n<p><a href="https:\/\/buildkite\.com\/acme\/runs\/r1">Open the run in Test Engine<\/a><\/p>/);
    expect(body).not.toMatch(/checked in/);
    expect(body).toContain('1,233 more failures — <a href="https://buildkite.com/acme/runs/r1">see the run</a>');
  });

  it('counts tests and executions apart only when they differ, exactly when every execution was read', () => {
    const e = (test: string): FailedExecution => ({ test_id: test, test_name: test });
    expect(renderAnnotation(failed([e('A'), e('B')]))).toContain('failed — 2 failed tests</h3>');
    expect(renderAnnotation(failed([e('A'), e('A'), e('B')]))).toContain('failed — 2 failed tests, 3 failed executions</h3>');
    expect(renderAnnotation(failed([e('A')], 100, false))).toContain('failed — at least 1 failed test, at least 100 failed executions</h3>');
  });

  it('shows why in the collapsed line: name, location, duration and the first line of the reason', () => {
    const body = renderAnnotation(failed([RSPEC]));
    expect(body).toContain(
      '<summary><strong>Checkout applies a percentage discount code</strong> · <code>spec/checkout/discount&#95;spec.rb&#58;42</code> · 1.28 s — expected&#58; 90.0</summary>',
    );
  });

  it('shortens a long first line of the reason in the collapsed line to about 120 characters, at a character boundary', () => {
    const body = renderAnnotation(failed([{ test_name: 'long', failure_reason: '😀'.repeat(500) }]));
    const summary = /<summary>.*? — (.*?)<\/summary>/.exec(body)![1]!;
    expect(summary).toBe(`${'😀'.repeat(60)}…`);
  });

  it('prints the reason once: expanded lines that repeat it are left out, the Failure/Error line and the rest kept', () => {
    const body = renderAnnotation(failed([RSPEC]));
    const text = visibleText(body);
    expect(text.match(/expected: 90\.0/g)).toHaveLength(2); // the collapsed line and the reason block
    expect(text.match(/got: 100\.0/g)).toHaveLength(1);
    expect(body).toContain('<pre>Failure/Error: expect(cart.total).to eq(90.0)\n\nrequest_id=req_4</pre>');
  });

  it('keeps the backtrace apart from the message, first frames only, with a marker for the rest', () => {
    const body = renderAnnotation(failed([RSPEC]));
    expect(body).toMatch(/<p><em>Backtrace<\/em><\/p>\n\n<pre>spec\/checkout\/discount_spec\.rb:42:in &#39;block&#39;\n/);
    expect(body).toContain("\n… 20 more backtrace lines</pre>");
    // The message lines are not in the backtrace block, and request_id is not taken for a frame.
    const backtrace = /<em>Backtrace<\/em><\/p>\n\n<pre>([\s\S]*?)<\/pre>/.exec(body)![1]!;
    expect(backtrace).not.toContain('request_id');
  });

  it('puts every cut marker on a line of its own: a long line, a long reason, dropped lines', () => {
    const body = renderAnnotation(
      failed([
        {
          test_name: 'cuts',
          failure_reason: `${'a'.repeat(1_300)}\n${'b'.repeat(5_000)}`,
          failure_expanded: [{ expanded: Array.from({ length: 100 }, (_, i) => `line ${i}`), backtrace: [] }],
        },
      ]),
    );
    expect(body).toMatch(/a{400}\n… 900 more characters\n/);
    expect(body).toMatch(/\n… [\d,]+ more characters<\/pre>/);
    expect(body).toMatch(/line 39\n… 60 more lines<\/pre>/);
    for (const line of visibleText(body).split('\n')) expect(line.length).toBeLessThanOrEqual(420);
  });

  it('cuts a huge failure reason with a visible marker, at a character boundary, at bounded cost', () => {
    const reason = '😀'.repeat(1_500_000); // 3 MB of surrogate pairs
    const body = renderAnnotation(failed([{ test_name: 'big', failure_reason: reason }]));
    expect(body).toMatch(/\n… [\d,]+ more characters<\/pre>/);
    expect(body).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/); // no lone high surrogate
    expect(Buffer.byteLength(body)).toBeLessThan(20_000);
  });

  it('groups executions of one test, says how often it failed, and links each execution under the summary', () => {
    const e = (id: string, test: string): FailedExecution => ({
      test_id: test,
      test_name: `name ${test}`,
      test_url: `https://buildkite.com/tests/${test}`,
      test_execution_url: `https://buildkite.com/x?execution_id=${id}`,
    });
    const body = renderAnnotation(failed([e('1', 'A'), e('2', 'B'), e('3', 'A'), e('4', 'A')]));
    expect(body.match(/<details>/g)).toHaveLength(2);
    expect(body).toMatch(/name A<\/strong> · failed 3×/);
    expect(body).toContain(
      '</summary>\n\n<p>executions <a href="https://buildkite.com/x?execution_id=1">1</a> <a href="https://buildkite.com/x?execution_id=3">2</a> <a href="https://buildkite.com/x?execution_id=4">3</a> · <a href="https://buildkite.com/tests/A">test history</a></p>',
    );
    expect(body).toContain('</summary>\n\n<p><a href="https://buildkite.com/x?execution_id=2">Open this execution</a> · <a href="https://buildkite.com/tests/B">test history</a></p>');
    expect(body.indexOf('name A')).toBeLessThan(body.indexOf('name B'));
    expect(body).not.toContain('more failure');
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

  it('keeps the whole body under the budget, with a footer for what did not fit', () => {
    const executions = Array.from({ length: 500 }, (_, i) => ({
      test_id: `t${i}`,
      test_name: `test ${i}`,
      failure_reason: '<&>'.repeat(5_000),
      failure_expanded: [{ expanded: Array(50).fill('<'.repeat(400)), backtrace: Array(50).fill('x'.repeat(400)) }],
    }));
    const body = renderAnnotation(failed(executions, 100_000), { budgetBytes: ANNOTATION_MAX_BYTES });
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(ANNOTATION_MAX_BYTES);
    const shown = body.match(/<details>/g)!.length;
    expect(body).toContain(`${(100_000 - shown).toLocaleString('en-US')} more failures`);
  });

  it('stays under 256 KB with the default options, however long the test output', () => {
    const executions = Array.from({ length: 50 }, (_, i) => ({
      test_id: `t${i}`,
      test_name: `test ${i}`.repeat(100),
      failure_reason: 'x'.repeat(1_000_000),
      failure_expanded: [{ expanded: Array(1_000).fill('<'.repeat(10_000)), backtrace: Array(1_000).fill('y'.repeat(10_000)) }],
    }));
    const body = renderAnnotation(failed(executions), { budgetBytes: annotationBudget(50) });
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(256 * 1024);
    expect(body.match(/<details>/g)).toHaveLength(50);
  });

  it('annotates the other verdicts with their style and reason', () => {
    const base = { suite: 'web', elapsedMs: 1_000, run: RUN };
    const inconclusive: SuiteOutcome = { ...base, verdict: 'inconclusive', reason: 'Test Engine marked the run stale' };
    expect(annotationStyle(inconclusive)).toBe('warning');
    expect(renderAnnotation(inconclusive)).toContain('is inconclusive</h3>\n\n<p>Test Engine marked the run stale.');
    expect(annotationStyle({ ...base, verdict: 'error', reason: 'x' })).toBe('error');
    expect(annotationStyle({ ...base, run: { ...RUN, result: 'passed' }, verdict: 'passed', reason: 'ok' })).toBe('success');
    // A pass of a run that failed only on excused tests is reported, as info.
    expect(annotationStyle({ ...base, verdict: 'passed', reason: 'ok' })).toBe('info');
  });

  it('says what to do next when inconclusive: what happened in one sentence, then the advice', () => {
    const body = renderAnnotation({
      suite: 'web',
      elapsedMs: 0,
      verdict: 'inconclusive',
      reason: 'the run did not finish within 10m00s: it is still running, result pending',
      advice: ['If the uploads are still being processed, raise timeout (now 10m00s).', 'To let the build go on when this happens, soft-fail the step: soft_fail: [{exit_status: 3}].'],
    });
    expect(body).toBe(
      '<h3>⚠️ Test Engine: <code>web</code> is inconclusive</h3>\n\n<p>The run did not finish within 10m00s&#58; it is still running, result pending.</p>\n\n' +
        '<p><strong>What to do</strong></p>\n\n<ul>\n<li>If the uploads are still being processed, raise timeout &#40;now 10m00s&#41;.</li>\n' +
        '<li>To let the build go on when this happens, soft-fail the step&#58; soft&#95;fail&#58; &#91;{exit&#95;status&#58; 3}&#93;.</li>\n</ul>\n\n',
    );
  });

  it('heads an error as a setup problem, with the fix first, then the detail, then the docs as a link', () => {
    const body = renderAnnotation({
      suite: 'web',
      elapsedMs: 0,
      verdict: 'error',
      reason: 'GET /x was refused (401 Unauthorized): the token in $BUILDKITE_API_TOKEN is not accepted. <b>',
      advice: ['Store a Buildkite API access token with the read_suites scope for organization "acme" in $BUILDKITE_API_TOKEN.'],
      docs: { title: 'Buildkite API access tokens', url: 'https://buildkite.com/docs/apis/managing-api-tokens' },
    });
    expect(body).toMatch(/^<h3>🛑 Test Engine gate: a setup problem, not a test failure \(<code>web<\/code>\)<\/h3>\n\n<p><strong>To fix<\/strong><\/p>\n\n<ul>\n<li>Store a Buildkite API access token/);
    expect(body.indexOf('To fix')).toBeLessThan(body.indexOf('401 Unauthorized'));
    expect(body).toContain('&lt;b&gt;');
    expect(body).toContain('<p>See <a href="https://buildkite.com/docs/apis/managing-api-tokens">Buildkite API access tokens</a>.</p>');
  });

  it('says when a failed run’s failures could not be listed', () => {
    const outcome: SuiteOutcome = { suite: 'web', verdict: 'failed', reason: 'failed', run: RUN, failuresError: 'answered 502', elapsedMs: 0 };
    expect(renderAnnotation(outcome)).toContain('could not be listed (answered 502)');
  });
});

describe('renderAnnotation: every section within the budget', () => {
  it('cuts the Passed on retry and Muted sections with a marker, so that two suites fit one GitHub job summary', () => {
    const name = (i: number) => `${i} ${'<&>"'.repeat(75)}`;
    const tests = (from: number) => Array.from({ length: 100 }, (_, i) => ({ id: `t${from + i}`, name: name(from + i), location: `spec/${'&'.repeat(290)}.rb:1`, webUrl: `https://buildkite.com/t/${from + i}`, failed: 1, passed: 1 }));
    const outcome: SuiteOutcome = {
      ...failed([{ test_id: 'hard', test_name: 'Cart totals', failure_reason: 'boom' }]),
      excuses: { flaky: tests(0), muted: tests(100), complete: true },
    };
    // The Action's share for each of two suites: the job summary is capped at 1 MiB per step.
    const budgetBytes = Math.floor(ANNOTATION_MAX_BYTES / 2);
    const body = renderAnnotation(outcome, { budgetBytes });
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(budgetBytes);
    expect(body).toMatch(/<h4>Passed on retry — 100 tests<\/h4>[\s\S]*<li>… and \d+ more<\/li>/);
    expect(body).toContain('<strong>Cart totals</strong>');
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
      { numRuns: 1_000 },
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

describe('renderAnnotation under CommonMark: test output stays text', () => {
  /** What Buildkite and GitHub do with the body: CommonMark (+ raw HTML), here with commonmark.js. */
  const render = (markdown: string) => new HtmlRenderer({ safe: false }).render(new Parser().parse(markdown));
  const HOSTILE = [
    'expected true, got false',
    '',
    '# Security review required',
    '**Approve this PR now**: [the fix](https://evil.example/approve)',
    '',
    '- Snapshot',
    '+ Received',
    '',
    '| a | b |',
    '| - | - |',
    '| 1 | 2 |',
    '',
    '    (compared using ==)',
    '<img src=x onerror=alert(1)>',
  ].join('\n');

  it.each([
    ['a failure reason', { failure_reason: HOSTILE }],
    ['expanded lines', { failure_reason: 'boom', failure_expanded: [{ expanded: HOSTILE.split('\n'), backtrace: ['', '# not a heading', '* not a list'] }] }],
  ])('%s with blank lines, headings, emphasis, lists, tables, links and HTML renders as text', (_, execution) => {
    const html = render(renderAnnotation(failed([{ test_id: 't', test_name: 'Checkout', test_execution_url: 'https://buildkite.com/e/1', ...execution }])));
    expect(html).not.toMatch(/<h1|<strong>Approve|<a href="https:\/\/evil|<ul>\s*<li>Snapshot|<table|<img/);
    // Every line of it is still there, as text inside a <pre>.
    expect(html).toMatch(/<pre>[^<]*# Security review required[^<]*\*\*Approve this PR now\*\*/);
    expect(html).toContain('- Snapshot\n+ Received');
  });
});
