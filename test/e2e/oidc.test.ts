/**
 * No stored secret: without an API token the plugin mints an OIDC token per suite with the stand-in
 * `buildkite-agent oidc request-token`, and the simulated API accepts a JWT whose audience is the suite's API
 * URL. Each case asserts the verdict, what was minted, and that no JWT reached the log or the annotation.
 */
import { describe, expect, it } from 'vitest';
import { startFakeTestEngine, type FakeApiOptions, type FakeSuite } from '../../sim/fake-test-engine.js';
import { fakeRun, runPluginInProcess, useFakeApi, type RunOptions } from '../support/run-plugin.js';

const fake = useFakeApi();
const FAST = { 'poll-interval': 0.1, settle: 0, timeout: 10 };
const FAILURE = { test_id: 'hard', test_name: 'Cart totals', failure_reason: 'expected 90' };
const failedWeb: FakeSuite = { slug: 'web', runs: [fakeRun([['running', 'failed'], ['running', 'failed'], ['finished', 'failed']], { failures: [FAILURE] })] };

async function gate(suites: FakeSuite[], config: Record<string, unknown> = {}, api: Partial<FakeApiOptions> = {}, run: RunOptions = {}) {
  fake.current = await startFakeTestEngine({ org: 'acme', token: 'the-api-token-nobody-set-0000', suites, ...api });
  const r = await runPluginInProcess({ ...run, config: { 'api-url': fake.current.url, ...FAST, ...config }, env: { BUILDKITE_API_TOKEN: undefined, ...run.env } });
  const mints = r.agentCalls.filter((c) => c.args[0] === 'oidc').map((c) => c.args);
  const jwts = [...new Set(fake.current.requests.map((q) => q.authorization ?? '').filter((a) => a.split('.').length === 3).map((a) => a.replace('Bearer ', '')))];
  const audience = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()).aud as string;
  const seen = [r.stdout, r.stderr, ...r.agentCalls.map((c) => c.stdin + c.args.join(' '))].join('\n');
  for (const jwt of jwts) expect(seen).not.toContain(jwt);
  return { ...r, mints, jwts, audience, annotation: r.agentCalls.find((c) => c.args[0] === 'annotate') };
}

describe('OIDC: no API token anywhere', () => {
  it('mints one token for the suite, with the suite API URL as audience and timeout + 120 s (at least 300 s) as lifetime', async () => {
    const r = await gate([failedWeb]);
    expect(r.code).toBe(1);
    const audience = `${fake.current!.url}/v2/analytics/organizations/acme/suites/web`;
    expect(r.mints).toEqual([['oidc', 'request-token', '--audience', audience, '--lifetime', '300']]);
    expect(r.jwts).toHaveLength(1);
    expect(r.audience(r.jwts[0]!)).toBe(audience);
    expect(r.stdout).toMatch(/Credentials: OIDC token per suite from buildkite-agent, audience .*\/suites\/<suite>, valid 5m00s/);
    expect(r.annotation!.stdin).toContain('failed — 1 failed test</h3>');
  });

  it('mints one token per suite', async () => {
    const api: FakeSuite = { slug: 'api', runs: [{ ...fakeRun([['finished', 'passed']]), id: 'api-run' }] };
    const r = await gate([failedWeb, api], { 'suite-slug': ['web', 'api'], timeout: 3600 });
    expect(r.code).toBe(1);
    expect(r.mints.map((m) => m[3]!.split('/').at(-1))).toEqual(expect.arrayContaining(['web', 'api']));
    expect(r.mints.every((m) => m[5] === '3720')).toBe(true);
    expect(r.jwts.map(r.audience).map((a) => a.split('/').at(-1)).sort()).toEqual(['api', 'web']);
  });

  it('mints a fresh token when one expires during the wait, and goes on', async () => {
    const r = await gate([failedWeb], {}, { oidc: { expireAfterRequests: 2 } });
    expect(r.code).toBe(1);
    expect(r.mints.length).toBeGreaterThanOrEqual(2);
    expect(r.stdout).toMatch(/answered 401 with the OIDC token minted for suite "web"; renewed it, trying once more/);
  });

  it('exits 2 with what to set up when the suite refuses a freshly minted token too', async () => {
    const r = await gate([failedWeb], {}, { oidc: { expireAfterRequests: 0 } });
    expect(r.code).toBe(2);
    expect(r.mints).toHaveLength(2); // the first, and one fresh one after the 401
    expect(r.stdout).toMatch(/401 Unauthorized\): the OIDC token minted for suite "web" is not accepted\. The API said: "No OIDC policy of this suite matches the token\."/);
    expect(r.stdout).toMatch(/OIDC policy .* trusts issuer https:\/\/agent\.buildkite\.com, grants read_suites, and pins this pipeline with a claim such as pipeline_slug; or set \$BUILDKITE_API_TOKEN/);
  });

  it('exits 2 with the agent\'s own error and what to set up when the agent cannot mint', async () => {
    const r = await gate([failedWeb], {}, {}, { oidc: 'fail' });
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/Could not get an OIDC token for suite "web" from buildkite-agent \(buildkite-agent exited 1: fatal: failed to get OIDC token: .*422 Unknown command\)/);
    expect(r.stdout).toMatch(/needs buildkite-agent 3\.41 or newer/);
    expect(fake.current!.requests).toEqual([]);
  });

  it('with oidc: true and a token set, suite endpoints use the minted token and Build tests the API token', async () => {
    fake.current = await startFakeTestEngine({ org: 'acme', token: 'bkua_the_real_api_token_000000', suites: [failedWeb] });
    const r = await runPluginInProcess({ config: { 'api-url': fake.current.url, ...FAST, oidc: true }, env: { BUILDKITE_API_TOKEN: 'bkua_the_real_api_token_000000' } });
    expect(r.code).toBe(1);
    const suiteRequests = fake.current.requests.filter((q) => q.url.includes('/suites/'));
    // Organization level: the Builds API read, then Build tests' muted and failing lists.
    const orgLevel = fake.current.requests.filter((q) => q.url.includes('/builds/'));
    expect(suiteRequests.every((q) => q.authorization!.split('.').length === 3)).toBe(true);
    expect(orgLevel.map((q) => q.authorization)).toEqual(Array(3).fill('Bearer bkua_the_real_api_token_000000'));
  });

  it('stays failed with a note when Build tests refuses the suite token, suggesting an API token', async () => {
    const flaky = { test_id: 'flaky', test_name: 'Search is fast', failure_reason: 'timeout' };
    const suite: FakeSuite = { slug: 'web', runs: [fakeRun([['finished', 'failed']], { failures: [flaky], passedOnRetry: ['flaky'] })] };
    const r = await gate([suite], {}, { oidc: { refuseOrgLevel: 403 } });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/Retries and mutes could not be checked: GET .*\/builds\/.*403 Forbidden.*organization-level and may refuse a suite's OIDC token: for retry and mute awareness, give the gate an API access token with read_suites in \$BUILDKITE_API_TOKEN/);
    expect(r.annotation!.args).toContain('error');
  });

  it('with oidc: false and no token, fails on the missing token without asking the agent', async () => {
    const r = await gate([failedWeb], { oidc: false });
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/No API token/);
    expect(r.agentCalls.filter((c) => c.args[0] === 'oidc')).toEqual([]);
  });
});

