/**
 * Never the flaky step: the gate against an API that misbehaves. Each case asserts the verdict and the exit
 * code, and that the fault shows in the log as a clear line. They run `run()` in-process with a fake clock
 * (the HTTP is real), so backoff and 429 waits take no time; what lives in real time is in realtime.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { startFakeTestEngine, type Fault, type FakeRun } from '../../sim/fake-test-engine.js';
import { FakeClock } from '../support/fake-clock.js';
import { TOKEN, fakeRun, runPluginInProcess, useFakeApi } from '../support/run-plugin.js';

const fake = useFakeApi();
const run = fakeRun;
const FAST = { 'poll-interval': 0.1, settle: 0.1, timeout: 20 };

async function withFaults(runs: FakeRun[], faults: Fault[], config: Record<string, unknown> = {}) {
  fake.current = await startFakeTestEngine({ org: 'acme', token: TOKEN, suites: [{ slug: 'web', runs }], faults });
  return runPluginInProcess({ config: { 'api-url': fake.current.url, ...FAST, ...config } });
}

function expectNoToken(...texts: string[]) {
  for (const text of texts) expect(text).not.toContain(TOKEN);
}

describe('transient faults do not change the verdict', () => {
  const failing = () => run([['running', 'pending'], ['finished', 'failed']], { failures: 3 });

  it.each([
    ['a burst of 503', { kind: 'status', status: 503 }, /answered 503; retrying in/],
    ['502 from a proxy, as HTML', { kind: 'status', status: 502, body: '<html>Bad Gateway</html>' }, /answered 502; retrying in/],
    ['connection resets', { kind: 'reset' }, /failed: connection (reset|closed unexpectedly); retrying in/],
    ['a reset in the middle of a body', { kind: 'reset-mid-body' }, /runs\/[^ ]+ failed: [^;]+; retrying in/],
    ['invalid JSON', { kind: 'body', body: '{"id": "', contentType: 'application/json' }, /unexpected response from GET .*: 200 with a body that is not JSON.*; retrying in/],
    ['an HTML page with status 200', { kind: 'body', body: '<html>Sign in to the proxy</html>', contentType: 'text/html' }, /not JSON \(text\/html\).*; retrying in/],
  ] as const)('%s while polling the run', async (_, fault, line) => {
    const r = await withFaults([failing()], [{ match: /runs\/[^/?]+$/, times: 3, fault }]);
    expect(r.code).toBe(1);
    // The transport retried each fault itself: three retry lines, and no read given up on.
    expect(r.stdout.split('\n').filter((l) => line.test(l))).toHaveLength(3);
    expect(r.stdout).not.toMatch(/reading again at the next poll/);
    expect(r.agentCalls[0]!.stdin).toContain('failed — 3 failed tests</h3>');
    expect(r.stdout).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/); // no stack trace
  });

  it('JSON of the wrong shape is a contract mismatch: said once, never retried, exit 2', async () => {
    const r = await withFaults([failing()], [{ match: /runs\/[^/?]+$/, fault: { kind: 'body', body: '{"id": 5}' } }]);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/unexpected response from GET .*: id: expected string/);
    expect(r.stdout).not.toMatch(/retrying in/);
  });

  it('a request never waits longer than the whole gate: request-timeout is capped at timeout', async () => {
    // request-timeout 30 s, timeout 1 s: the hanging request is abandoned after about a second, not thirty.
    const r = await withFaults([failing()], [{ match: /runs\/[^/?]+$/, times: 1, fault: { kind: 'hang' } }], { timeout: 1, 'request-timeout': 30 });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/no response headers within request-timeout; retrying/);
    expect(r.ms).toBeLessThan(20_000);
  });

  it('a request that hangs is abandoned after request-timeout and retried', async () => {
    const r = await withFaults([failing()], [{ match: /runs\/[^/?]+$/, times: 1, fault: { kind: 'hang' } }], { 'request-timeout': 1 });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/no response headers within request-timeout; retrying/);
  });

  it('a failed run whose failures cannot be listed still exits 1 and says so', async () => {
    const r = await withFaults([failing()], [{ match: /failed_executions/, fault: { kind: 'status', status: 500 } }], { timeout: 2 });
    expect(r.code).toBe(1);
    expect(r.agentCalls[0]!.stdin).toMatch(/its failures could not be listed/);
    expect(r.stdout).toMatch(/the failures could not be listed: GET .*failed_executions.* answered 500 after every retry the timeout allowed/);
    // One retry layer: the first try and 5 retries, not retries of retries.
    expect(fake.current!.requests.filter((q) => q.url.includes('failed_executions'))).toHaveLength(6);
  });

  it('a passed run behind faults still passes only once it is finished and confirmed', async () => {
    const r = await withFaults(
      [run([['running', 'passed'], ['finished', 'passed']])],
      [{ match: /runs\/[^/?]+$/, times: 2, fault: { kind: 'status', status: 504 } }],
    );
    expect(r.code).toBe(0);
  });

  it('faults until the timeout make the gate inconclusive (3), never green', async () => {
    const r = await withFaults([run([['finished', 'passed']])], [{ match: /runs/, fault: { kind: 'body', body: 'nope' } }], { timeout: 1 });
    expect(r.code).toBe(3);
    expect(r.agentCalls[0]!.stdin).toMatch(/No Test Engine run appeared.*the last read failed&#58; unexpected response/s);
  });
});

describe('rate limits', () => {
  it.each([
    ['user-scope headers', { 'ratelimit-user-remaining': '0', 'ratelimit-user-reset': '1', 'ratelimit-remaining': '100', 'ratelimit-reset': '50' }, undefined],
    ['Retry-After', { 'retry-after': '1' }, undefined],
    ['only the JSON body', {}, JSON.stringify({ message: 'You have exceeded your rate limit.', scope: 'user', limit: 50, current: 51, reset: 1 })],
  ])('waits out a 429 named by %s and gets the verdict', async (_, headers, body) => {
    const r = await withFaults(
      [run([['running', 'pending'], ['finished', 'failed']], { failures: 1 })],
      [{ match: /runs\/[^/?]+$/, times: 1, fault: { kind: 'status', status: 429, headers, ...(body ? { body } : {}) } }],
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/rate limited \(429.*(retrying in|waiting) 1\.0s/);
  });

});

describe('rate-limit pacing, on virtual time', () => {
  it('paces polls to the budget instead of running into 429', async () => {
    // The gate's fake clock is the sim's clock too: its rate-limit windows pass as the gate waits.
    const clock = new FakeClock();
    fake.current = await startFakeTestEngine({
      org: 'acme',
      token: TOKEN,
      suites: [{ slug: 'web', runs: [run([['running', 'pending'], ['running', 'pending'], ['running', 'pending'], ['running', 'pending'], ['finished', 'failed']], { failures: 1 })] }],
      rateLimit: { orgLimit: 200, userLimit: 3, windowMs: 10_000 },
      now: () => clock.time,
    });
    // No build number: the count below is of the run's reads alone.
    const r = await runPluginInProcess({ clock, config: { 'api-url': fake.current.url, ...FAST, timeout: 120 }, env: { BUILDKITE_BUILD_NUMBER: undefined } });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/rate limit: 2 user requests left for 10s; polling every 5\.0s/);
    expect(fake.current.rateLimited()).toBe(0);
    // Three requests a window for 5 reads of the run and 3 failure reads, none refused: the decision comes in
    // the third window, and not a read more than the timeline needs.
    expect(fake.current.requests).toHaveLength(8);
    expect(clock.time).toBeGreaterThanOrEqual(20_000);
  });
});

describe('secrets', () => {
  it('a token printed by a test is redacted in the annotation and the log', async () => {
    const failures = [{ test_id: 't', test_name: `leaks ${TOKEN}`, failure_reason: `Authorization: Bearer ${TOKEN}`, failure_expanded: [{ expanded: [TOKEN], backtrace: [] }] }];
    const r = await withFaults([run([['finished', 'failed']], { failures })], []);
    expect(r.code).toBe(1);
    expect(r.agentCalls[0]!.stdin).toContain('&#91;REDACTED&#93;');
    expect(r.stdout).toContain('leaks [REDACTED]');
    expectNoToken(r.stdout, r.stderr, r.agentCalls[0]!.stdin);
  });

  it('an API error body that echoes the token does not leak it', async () => {
    const r = await withFaults([], [{ match: /runs/, fault: { kind: 'status', status: 400, body: JSON.stringify({ message: `bad token ${TOKEN}` }) } }]);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/answered 400\. The API said: "bad token \[REDACTED\]"/);
    expectNoToken(r.stdout, r.stderr, ...r.agentCalls.map((c) => c.stdin));
  });

  it('refuses plain http to a host that is not loopback', async () => {
    const r = await runPluginInProcess({ config: { 'api-url': 'http://fake.current.example.com' } });
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/"api-url".*clear text/);
  });
});

