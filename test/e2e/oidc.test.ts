/**
 * No stored secret: without an API token the plugin mints an OIDC token per suite with the stand-in
 * `buildkite-agent oidc request-token`, and the simulated API accepts a JWT whose audience is the suite's API
 * URL. Each case asserts the verdict, what was minted, and that no JWT reached the log or the annotation.
 */
import { describe, expect, it } from 'vitest';
import { startFakeTestEngine, type FakeApiOptions, type FakeSuite } from '../../sim/fake-test-engine.js';
import { fakeBuild, fakeRun, runPluginInProcess, useFakeApi, type RunOptions } from '../support/run-plugin.js';

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
    expect(r.stdout).toMatch(/Credentials: OIDC token per suite from buildkite-agent, audience .*\/suites\/<suite> \(then the suite's web URL if that is refused\), valid 5m00s/);
    expect(r.annotation!.stdin).toContain('failed — 1 failed test</h3>');
  });

  it('a suite that accepts only its web URL as audience: one more mint, the audience kept and logged', async () => {
    const api: FakeSuite = { slug: 'api', runs: [{ ...fakeRun([['running', 'passed'], ['finished', 'passed']]), id: 'api-run' }] };
    const r = await gate([failedWeb, api], { 'suite-slug': ['web', 'api'] }, { oidc: { audience: 'web' } });
    expect(r.code).toBe(1);
    // Per suite: the API URL's audience, refused, then the web URL's, which is kept for every later read.
    for (const suite of ['web', 'api']) {
      expect(r.mints.filter((m) => m[3]!.endsWith(`/suites/${suite}`)).map((m) => m[3]!.startsWith('https://buildkite.com/'))).toEqual([false, true]);
      expect(r.stdout).toContain(`${suite}: OIDC audience https://buildkite.com/organizations/acme/analytics/suites/${suite} accepted (the suite's API URL was refused); kept for this suite`);
    }
  });

  it('oidc-audience sets the audience outright: one mint, no fallback', async () => {
    const r = await gate([failedWeb], { 'oidc-audience': 'https://buildkite.com/organizations/{org}/analytics/suites/{suite}' }, { oidc: { audience: 'web' } });
    expect(r.code).toBe(1);
    expect(r.mints.map((m) => m[3])).toEqual(['https://buildkite.com/organizations/acme/analytics/suites/web']);
  });

  it('a mistyped suite under a JWT answers 401: exit 2, and the message says the suite may not exist', async () => {
    const r = await gate([failedWeb], { 'suite-slug': 'wbe' }, { oidc: { audience: 'both' } });
    expect(r.code).toBe(2);
    expect(r.mints).toHaveLength(2);
    expect(r.stdout).toMatch(/The suite "wbe" may not exist \(check suite-slug: a token for a suite that does not exist is refused with 401\), or its OIDC policy does not trust this pipeline/);
  });

  it('a mistyped suite, with the build readable (oidc: true and a token): the message names the suites the build has', async () => {
    const token = 'bkua_the_real_api_token_000000';
    fake.current = await startFakeTestEngine({ org: 'acme', token, suites: [failedWeb], builds: [fakeBuild()], oidc: { audience: 'both' } });
    const r = await runPluginInProcess({ config: { 'api-url': fake.current.url, ...FAST, oidc: true, 'suite-slug': 'wbe' }, env: { BUILDKITE_API_TOKEN: token } });
    expect(r.code).toBe(2);
    expect(r.agentCalls.find((c) => c.args[0] === 'annotate')!.stdin).toMatch(/This build has Test Engine runs of web&#58; is suite-slug &#40;&quot;wbe&quot;&#41; right\?/);
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

  it('exits 2 with what to set up when the suite refuses a freshly minted token for either audience', async () => {
    const r = await gate([failedWeb], {}, { oidc: { expireAfterRequests: 0 } });
    expect(r.code).toBe(2);
    // The API URL's audience, then once the web URL's.
    expect(r.mints.map((m) => m[3])).toEqual([`${fake.current!.url}/v2/analytics/organizations/acme/suites/web`, 'https://buildkite.com/organizations/acme/analytics/suites/web']);
    expect(r.stdout).toMatch(/401 Unauthorized\): every OIDC token minted for suite "web" \(audiences .* and https:\/\/buildkite\.com\/organizations\/acme\/analytics\/suites\/web\) is not accepted\. The API said: "No OIDC policy of this suite matches the token\."/);
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

