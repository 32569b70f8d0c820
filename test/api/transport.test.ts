import { afterEach, describe, expect, it } from 'vitest';
import { TestEngineApi } from '../../src/api/endpoints.js';
import { Transport, createDispatcher } from '../../src/api/transport.js';
import { ApiError, TransientApiError, describeError } from '../../src/errors.js';
import { Secrets } from '../../src/secrets.js';
import { startFakeTestEngine, type FakeApiOptions, type FakeTestEngine, type Fault } from '../../sim/fake-test-engine.js';
import { FakeClock } from '../support/fake-clock.js';

const TOKEN = 'bkua_client_test_token_0123456789abcdef';
const RUN = { id: 'r1', buildId: 'b1', timeline: [['finished', 'failed']] as const };
let api: FakeTestEngine | undefined;

afterEach(async () => {
  await api?.close();
  api = undefined;
});

async function client(options: Partial<FakeApiOptions> & { faults?: Fault[] } = {}, requestTimeoutMs = 5_000, random = () => 0) {
  api = await startFakeTestEngine({ org: 'acme', token: TOKEN, suites: [{ slug: 'web', runs: [{ ...RUN, failures: 250 }] }], ...options });
  const lines: string[] = [];
  const clock = new FakeClock();
  const transport = new Transport({
    apiUrl: api.url,
    dispatcher: createDispatcher(requestTimeoutMs),
    signal: new AbortController().signal,
    log: (l) => lines.push(l),
    clock,
    secrets: new Secrets().add(TOKEN),
    random,
  });
  const credential = {
    authorization: async () => `Bearer ${TOKEN}`,
    description: 'the token in $BUILDKITE_API_TOKEN',
    fix: 'Store a Buildkite API access token with the read_suites scope for organization "acme" in $BUILDKITE_API_TOKEN.',
    docs: { title: 'Buildkite API access tokens', url: 'https://buildkite.com/docs/apis/managing-api-tokens' },
  };
  const c = new TestEngineApi(transport, { apiUrl: api.url, org: 'acme', credentialFor: () => credential });
  return { c, transport, lines, clock, api };
}

const BUILD = { kind: 'build', buildId: 'b1' } as const;

const FAR = 1e12;

describe('failedExecutions: links as the server writes them', () => {
  it.each([
    ['serves 50 a page when asked for 100 (its links name 50)', { maxPerPage: 50 }],
    ['writes its links with page alone (last numbered in pages of 30)', { pageOnlyLinks: true }],
    ['does both', { maxPerPage: 50, pageOnlyLinks: true }],
  ] as [string, { maxPerPage?: number; pageOnlyLinks?: boolean }][])('a server that %s: the exact total, and every execution shown once', async (_, server) => {
    const { c, api } = await client({ suites: [{ slug: 'web', runs: [{ ...RUN, failures: 250 }] }], ...server });
    const page = await c.failedExecutions('web', 'r1', 150, FAR);
    expect(page).toMatchObject({ total: 250, exact: true });
    expect(new Set(page.executions.map((e) => e.execution_id)).size).toBe(150);
    // A next link that dropped per_page and include_failure_expanded gets them back (a size it names is kept).
    for (const q of api.requests.slice(1, -1)) expect(new URL(q.url, 'http://x').searchParams.get('include_failure_expanded')).toBe('true');
    for (const q of api.requests.slice(1, -1)) expect(new URL(q.url, 'http://x').searchParams.get('per_page')).toBe(server.maxPerPage && !server.pageOnlyLinks ? '50' : '100');
  });
});

describe('failedExecutions: only the pages the annotation needs, and the exact total', () => {
  it.each([
    // failures, want, requests, pages read
    [250, 50, 2, ['1', '3']],
    [250, 150, 3, ['1', '2', '3']],
    [100, 50, 1, ['1']],
    [0, 50, 1, ['1']],
    [1_000_000, 50, 2, ['1', '10000']],
  ])('%i failures, %i shown: %i requests', async (failures, want, requests, pages) => {
    const { c, api } = await client({ suites: [{ slug: 'web', runs: [{ ...RUN, failures }] }] });
    const page = await c.failedExecutions('web', 'r1', want, FAR);
    expect(page).toMatchObject({ total: failures, exact: true });
    expect(api.requests).toHaveLength(requests);
    expect(page.executions).toHaveLength(Math.min(want, failures));
    expect(api.requests.map((r) => new URL(r.url, 'http://x').searchParams.get('page') ?? '1')).toEqual(pages);
    for (const r of api.requests) {
      expect(r.url).toContain('per_page=100');
      expect(r.url).toContain('include_failure_expanded=true');
    }
  });

  it('says "at least" when there is no last link', async () => {
    const { c, api } = await client({ omitLastLink: true });
    expect(await c.failedExecutions('web', 'r1', 50, FAR)).toMatchObject({ total: 100, exact: false });
    expect(api.requests).toHaveLength(1);
  });
});

describe('faults', () => {
  it('retries a burst of 5xx with backoff and logs each retry', async () => {
    const { c, lines, clock } = await client({ faults: [{ match: /runs\/r1$/, times: 3, fault: { kind: 'status', status: 503 } }] });
    expect((await c.getRun('web', 'r1', FAR)).state).toBe('finished');
    expect(lines).toEqual([
      expect.stringMatching(/GET \/v2\/.*\/runs\/r1 answered 503; retrying in 0\.3s/),
      expect.stringMatching(/answered 503; retrying in 0\.5s/),
      expect.stringMatching(/answered 503; retrying in 1\.0s/),
    ]);
    expect(clock.sleeps).toEqual([250, 500, 1_000]);
  });

  it('gives up on 5xx after the retries, as a transient error', async () => {
    const { c, api } = await client({ faults: [{ match: /runs\/r1$/, fault: { kind: 'status', status: 502 } }] });
    await expect(c.getRun('web', 'r1', FAR)).rejects.toThrow(TransientApiError);
    expect(api.requests.length).toBe(6); // the first try and 5 retries
  });

  it('stops retrying at the deadline', async () => {
    const { c, api } = await client({ faults: [{ match: /runs\/r1$/, fault: { kind: 'status', status: 500 } }] });
    await expect(c.getRun('web', 'r1', 600)).rejects.toThrow(/answered 500 after every retry the timeout allowed/);
    expect(api.requests.length).toBe(2);
  });

  it('retries connection resets and resets in the middle of a body, in the transport alone', async () => {
    const { c, lines, api } = await client({
      faults: [
        { match: /runs\/r1$/, times: 1, fault: { kind: 'reset' } },
        { match: /runs\/r1$/, times: 1, fault: { kind: 'reset-mid-body' } },
      ],
    });
    // One call, no loop in the test: the transport itself must ride out both faults.
    expect((await c.getRun('web', 'r1', FAR)).state).toBe('finished');
    expect(api.requests).toHaveLength(3);
    expect(lines).toEqual([
      expect.stringMatching(/runs\/r1 failed: (connection reset|connection closed unexpectedly|other side closed.*); retrying in 0\.3s/),
      expect.stringMatching(/runs\/r1 failed: .*; retrying in 0\.5s/),
    ]);
  });

  it('abandons a request that hangs after request-timeout and retries it', async () => {
    const { c, lines } = await client({ faults: [{ match: /runs\/r1$/, times: 1, fault: { kind: 'hang' } }] }, 300);
    expect((await c.getRun('web', 'r1', FAR)).state).toBe('finished');
    expect(lines[0]).toMatch(/no response headers within request-timeout; retrying/);
  });

  it.each([
    ['user headers', { 'ratelimit-user-remaining': '0', 'ratelimit-user-reset': '7', 'ratelimit-remaining': '100', 'ratelimit-reset': '30' }, undefined, 7_000],
    ['org headers', { 'ratelimit-user-remaining': '10', 'ratelimit-user-reset': '7', 'ratelimit-remaining': '0', 'ratelimit-reset': '30' }, undefined, 30_000],
    ['Retry-After', { 'retry-after': '3' }, undefined, 3_000],
    ['JSON body only', {}, JSON.stringify({ message: 'slow down', scope: 'rest_user', limit: 50, current: 51, reset: 12 }), 12_000],
  ])('waits out a 429 named by %s, logs it, and goes on', async (_, headers, body, waitMs) => {
    const { c, lines, clock } = await client({
      faults: [{ match: /runs\/r1$/, times: 1, fault: { kind: 'status', status: 429, headers, ...(body ? { body } : {}) } }],
    });
    expect((await c.getRun('web', 'r1', FAR)).state).toBe('finished');
    expect(clock.sleeps).toContain(waitMs);
    expect(lines.join('\n')).toMatch(/rate limited \(429/);
  });

  it.each([
    ['a body that is not JSON', { kind: 'body', body: 'oops', contentType: 'text/plain' }, /unexpected response from GET .*runs\/r1: 200 with a body that is not JSON \(text\/plain\): oops/],
    ['an HTML page from a proxy', { kind: 'body', body: '<html><body>Bad gateway</body></html>', contentType: 'text/html' }, /not JSON \(text\/html\)/],
  ] as const)('turns %s into a clear transient error, retried like a 5xx', async (_, fault, message) => {
    const { c, lines, api } = await client({ faults: [{ match: /runs\/r1$/, times: 1, fault }] });
    expect((await c.getRun('web', 'r1', FAR)).state).toBe('finished');
    expect(api.requests).toHaveLength(2);
    expect(lines).toEqual([expect.stringMatching(message)]);
    expect(lines[0]).toMatch(/; retrying in 0\.3s$/);
  });

  it.each([
    ['JSON of the wrong shape', '{"id":"r1","state":"done","result":"passed"}', /unexpected response from .*: state: expected one of "running", "finished"/],
    ['an empty object', '{}', /unexpected response .*: id: expected string/],
  ] as const)('takes %s for a contract mismatch: a clear error, never retried', async (_, body, message) => {
    const { c, lines, api } = await client({ faults: [{ match: /runs\/r1$/, times: 1, fault: { kind: 'body', body } }] });
    await expect(c.getRun('web', 'r1', FAR)).rejects.toThrow(message);
    expect(api.requests).toHaveLength(1);
    expect(lines).toEqual([]);
  });

  it('gives up on a body that stays wrong, with the error that says why', async () => {
    const { c, api } = await client({ faults: [{ match: /runs\/r1$/, fault: { kind: 'body', body: '<html>proxy</html>', contentType: 'text/html' } }] });
    await expect(c.getRun('web', 'r1', FAR)).rejects.toThrow(/unexpected response from GET .*runs\/r1: 200 with a body that is not JSON \(text\/html\)/);
    expect(api.requests).toHaveLength(6);
  });

  it('quotes a body in an error without its terminal escapes or control characters', async () => {
    const { c } = await client({ faults: [{ match: /runs\/r1$/, fault: { kind: 'body', body: '\u001b]0;pwned\u0007\u001b[31mred\u001b[0m\u0000 text', contentType: 'text/plain' } }] });
    const error = await c.getRun('web', 'r1', FAR).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/not JSON \(text\/plain\): red text$/);
    expect((error as Error).message).not.toMatch(/[\u0000-\u001f]/);
  });

  it('accepts unknown fields and missing optional ones', async () => {
    const { c } = await client({ faults: [{ match: /runs\/r1$/, times: 1, fault: { kind: 'body', body: '{"id":"r1","state":"running","result":"pending","brand_new":{"x":1},"web_url":null}' } }] });
    expect(await c.getRun('web', 'r1', FAR)).toEqual({ id: 'r1', state: 'running', result: 'pending', web_url: null });
  });
});

describe('errors that end the gate', () => {
  it('401 names the token variable and the scope, and is not retried', async () => {
    const { c, api } = await client({ token: 'another-token-entirely' });
    const error = await c.getRun('web', 'r1', FAR).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).message).toMatch(/401 Unauthorized\): the token in \$BUILDKITE_API_TOKEN is not accepted\./);
    // What to do is said apart, so that an annotation can put it first.
    expect((error as ApiError).fix).toMatch(/read_suites scope for organization "acme"/);
    expect((error as ApiError).docs?.url).toBe('https://buildkite.com/docs/apis/managing-api-tokens');
    expect(api.requests).toHaveLength(1);
  });

  it('403 names the scope and the org', async () => {
    const { c } = await client({ forbidden: true });
    await expect(c.getRun('web', 'r1', FAR)).rejects.toThrow(/403 Forbidden.*lacks a scope \(read_suites; read_builds for a build\) or access to organization "acme" \(suite "web"\)\. The API said: "missing required scope: read_suites"/);
  });

  it("403 with a Billing Error says it is the organization's plan, in the API's own words", async () => {
    const billing: Fault = { match: /runs\/r1$/, fault: { kind: 'status', status: 403, body: JSON.stringify({ message: 'Billing Error: Test Engine is not included in your plan' }) } };
    const { c } = await client({ faults: [billing] });
    await expect(c.getRun('web', 'r1', FAR)).rejects.toThrow(/403 Forbidden\): the plan of organization "acme" does not include it\. The API said: "Billing Error: Test Engine is not included in your plan"/);
  });

  it('404 names the org and the suite', async () => {
    const { c, api } = await client();
    const error = (await c.findRuns('nope', BUILD, FAR).catch((e: unknown) => e)) as ApiError;
    expect(describeError(error)).toMatch(/404 Not Found\)\. The API said: "Not Found"\. Check org "acme" and suite-slug "nope"/);
    expect(api.requests).toHaveLength(1);
  });

  it('does not follow a redirect', async () => {
    const { c } = await client({ faults: [{ match: /runs\/r1$/, fault: { kind: 'status', status: 302, headers: { location: 'https://elsewhere.example/steal?x=1' } } }] });
    await expect(c.getRun('web', 'r1', FAR)).rejects.toThrow(/answered 302, a redirect to https:\/\/elsewhere\.example\/steal; it is not followed/);
  });

  it('refuses a pagination link to another origin', async () => {
    const { c, api } = await client({
      faults: [{ match: /failed_executions/, fault: { kind: 'status', status: 200, headers: { link: '<https://elsewhere.example/page2>; rel="next"' }, body: JSON.stringify(Array(100).fill({ test_name: 'x' })) } }],
    });
    // The first page is kept, counted "at least"; the link elsewhere is never followed.
    const list = await c.failedExecutions('web', 'r1', 150, FAR);
    expect(list).toMatchObject({ total: 100, exact: false, cutShort: expect.stringMatching(/refusing GET \/page2\S* at https:\/\/elsewhere\.example/) });
    expect(api.requests).toHaveLength(1);
  });

  it('sends the token only in the Authorization header', async () => {
    const { c, api } = await client();
    await c.findRuns('web', BUILD, FAR);
    expect(api.requests[0]).toMatchObject({ authorization: `Bearer ${TOKEN}`, url: '/v2/analytics/organizations/acme/suites/web/runs?build_id=b1' });
  });
});

describe('findRuns by commit (GitHub, no build id)', () => {
  const runs = (n: number, sha: (i: number) => string) => Array.from({ length: n }, (_, i) => ({ id: `r${i}`, buildId: `b${i}`, timeline: [['finished', 'passed']] as const, commitSha: sha(i) }));

  it('reads at most the 3 newest pages of runs', async () => {
    const { c, api } = await client({ suites: [{ slug: 'web', runs: runs(350, () => 'ffffffffffffffffffffffffffffffffffffffff') }] });
    expect(await c.findRuns('web', { kind: 'commit', commit: 'a3f1c2d' }, FAR)).toEqual([]);
    expect(api.requests.map((r) => new URL(r.url, 'http://x').searchParams.get('page') ?? '1')).toEqual(['1', '2', '3']);
  });

  it('matches a short SHA against the start of each run\'s full SHA, and stops at the first page with a match', async () => {
    const full = 'a3f1c2d4e5b6a7980123456789abcdef01234567';
    // The list is served newest first; the match is on the second page.
    const { c, api } = await client({ suites: [{ slug: 'web', runs: runs(250, (i) => (i === 100 ? full : 'ffff')) }] });
    const found = await c.findRuns('web', { kind: 'commit', commit: 'a3f1c2d' }, FAR);
    expect(found.map((r) => r.id)).toEqual(['r100']);
    expect(api.requests).toHaveLength(2);
  });
});

describe('rate-limit budget', () => {
  it('brings a refused request back early in the new window, and earlier each time it is refused again', async () => {
    // 10 a 10-second window, refused at our first request: about 15 gates share it, so their turns in the next
    // window spread over its first 8 s. With the random draw at its highest, a refused request goes at 4 s
    // (half the spread), then at 2.7 s (a third): ahead of the gates taking their ordinary turn.
    const headers = { 'ratelimit-user-remaining': '0', 'ratelimit-user-reset': '10', 'ratelimit-user-limit': '10' };
    const body = JSON.stringify({ message: 'slow down', scope: 'rest_user', limit: 10, current: 11, reset: 10 });
    const { c, clock, lines } = await client({ faults: [{ match: /runs\/r1$/, times: 2, fault: { kind: 'status', status: 429, headers, body } }] }, 5_000, () => 1);
    expect((await c.getRun('web', 'r1', FAR)).state).toBe('finished');
    expect(clock.sleeps).toEqual([14_000, 12_667]);
    expect(lines).toEqual([expect.stringMatching(/rate limited \(429, the user's limit\); retrying in 14s$/), expect.stringMatching(/retrying in 13s$/)]);
  });

  it('holds a request back while the window is spent instead of running into 429', async () => {
    const { c, lines, clock, api, transport } = await client({ rateLimit: { orgLimit: 200, userLimit: 2, windowMs: 60_000 } });
    await c.getRun('web', 'r1', FAR);
    await c.getRun('web', 'r1', FAR);
    expect(transport.budget.exhausted(clock.now())?.scope).toBe('rest_user');
    // The fake clock skips the wait, so the server (on real time) still says 429, and its reset lies past
    // this deadline: the point is that the transport waited for the window before sending the third request.
    await expect(c.getRun('web', 'r1', 100_000)).rejects.toThrow(/rate limited \(429\) and the limit resets only after the timeout/);
    expect(lines[0]).toMatch(/rate limit: no user requests left; waiting 60s for the window to reset/);
    expect(clock.sleeps[0]).toBe(60_050);
    expect(api.requests.map((r) => r.status)).toEqual([200, 200, 429]);
  });
});
