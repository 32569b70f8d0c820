import { describe, expect, it } from 'vitest';
import { parseConfig, type RawValue } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import { readPluginValues } from '../src/hosts/buildkite.js';
import { parseCliArgs } from '../src/hosts/cli.js';

const ENV = {
  BUILDKITE_ORGANIZATION_SLUG: 'acme',
  BUILDKITE_PIPELINE_SLUG: 'web',
  BUILDKITE_BUILD_ID: '0190a3b2-6c1f-7c3e-9a4b-2f1d5e8c7a60',
  BUILDKITE_BUILD_NUMBER: '42',
  BUILDKITE_JOB_ID: '0190a3b2-0000-4000-8000-00000000c0de',
  BUILDKITE_API_TOKEN: 'bkua_secret_token_value_1234',
};

function plugin(config: Record<string, unknown>, env: Record<string, string | undefined> = ENV) {
  const merged = { ...env, BUILDKITE_PLUGIN_CONFIGURATION: JSON.stringify(config) };
  const { values, unknownKeys } = readPluginValues(merged);
  return parseConfig({ host: 'buildkite', values, unknownKeys, env: merged });
}

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig', () => {
  it('says what a blank or multi-line context is, and shows a number JSON cannot hold as itself', () => {
    expect(() => plugin({ context: '   ' })).toThrow(/Invalid value for "context" .*: "   "\. Expected a non-empty line of at most 100 characters\./);
    expect(() => plugin({ context: 'gate\n+++ forged' })).toThrow(/Invalid value for "context" .*Expected a non-empty line of at most 100 characters/);
    // The agent hands pipeline.yml's `timeout: 1e400` over as that JSON literal, which parses to Infinity.
    const raw = { ...ENV, BUILDKITE_PLUGIN_CONFIGURATION: '{"timeout": 1e400}' };
    expect(() => parseConfig({ host: 'buildkite', ...readPluginValues(raw), env: raw })).toThrow(/Invalid value for "timeout" \(from plugin option "timeout"\): Infinity\./);
  });

  it('takes an empty string as "not set": the default applies', () => {
    expect(plugin({ 'poll-interval': '' }).pollIntervalMs).toBe(2_000);
  });

  it('fills every default from the Buildkite variables and the table', () => {
    const config = plugin({});
    expect(config).toEqual({
      host: 'buildkite',
      suites: ['web'],
      suitesFromBuild: true,
      build: { pipeline: 'web', number: 42 },
      jobId: ENV.BUILDKITE_JOB_ID,
      org: 'acme',
      lookup: { kind: 'build', buildId: ENV.BUILDKITE_BUILD_ID },
      apiUrl: 'https://api.buildkite.com',
      token: { token: ENV.BUILDKITE_API_TOKEN, source: '$BUILDKITE_API_TOKEN' },
      tokenVariable: 'BUILDKITE_API_TOKEN',
      oidc: undefined,
      timeoutMs: 600_000,
      pollIntervalMs: 2_000,
      settleMs: 5_000,
      requestTimeoutMs: 30_000,
      maxFailures: 50,
      flakyTests: 'pass',
      mutedTests: 'pass',
      context: 'test-engine-gate',
      alwaysAnnotate: false,
      annotate: true,
      sourceLinks: true,
      checks: undefined,
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.suites)).toBe(true);
  });

  it('takes every option from the plugin configuration, with JSON types or strings', () => {
    const config = plugin(
      {
        'suite-slug': ['web', 'api'],
        org: 'other-org',
        'build-id': '11111111-2222-4333-8444-555555555555',
        'api-token-env-name': 'MY_TOKEN',
        'api-url': 'http://127.0.0.1:8080/',
        timeout: '30',
        'poll-interval': 0.5,
        settle: '0',
        'request-timeout': 2,
        'max-failures': '7',
        context: 'gate',
        'always-annotate': 'true',
        annotate: false,
      },
      { ...ENV, MY_TOKEN: ' tok_from_my_variable ' },
    );
    expect(config).toMatchObject({
      suites: ['web', 'api'],
      org: 'other-org',
      lookup: { kind: 'build', buildId: '11111111-2222-4333-8444-555555555555' },
      token: { token: 'tok_from_my_variable', source: '$MY_TOKEN' },
      apiUrl: 'http://127.0.0.1:8080',
      timeoutMs: 30_000,
      pollIntervalMs: 500,
      settleMs: 0,
      requestTimeoutMs: 2_000,
      maxFailures: 7,
      context: 'gate',
      alwaysAnnotate: true,
      annotate: false,
    });
  });

  it.each([
    ['timeout', 'ten', /"timeout".*"ten".*number of seconds/],
    ['timeout', '0', /"timeout".*at least 1/],
    ['timeout', '5s', /"timeout".*"5s"/],
    ['poll-interval', '0.05', /"poll-interval".*at least 0\.1/],
    ['settle', '-1', /"settle".*"-1"/],
    ['max-failures', '2.5', /"max-failures".*whole number/],
    ['max-failures', '0', /"max-failures".*at least 1/],
    ['always-annotate', 'ture', /"always-annotate".*"ture".*true or false/],
    ['annotate', 'yes', /"annotate".*true or false/],
    ['annotate', 1, /"annotate".*true or false/],
    ['build-id', 'not-a-uuid', /"build-id".*UUID/],
    ['org', 'acme/../../x', /"org".*slug/],
    ['suite-slug', ['web', '../admin'], /"suite-slug".*suite slug/],
    ['suite-slug', [], /"suite-slug"/],
    ['context', 'x'.repeat(101), /"context".*at most 100 characters/],
    ['api-url', 'http://api.example.com', /"api-url".*clear text/],
    ['api-url', 'ftp://api.example.com', /"api-url".*https URL/],
    ['api-url', 'https://api.example.com/?token=1', /"api-url".*without query/],
    ['api-url', 'not a url', /"api-url".*https URL/],
    ['api-token-env-name', 'MY-TOKEN', /"api-token-env-name".*name of an environment variable/],
    ['run-in-docker', 'sometimes', /"run-in-docker".*"sometimes".*one of auto, true, false/],
    ['flaky-tests', 'ignore', /"flaky-tests".*"ignore".*one of pass, fail/],
    ['muted-tests', true, /"muted-tests".*one of pass, fail/],
  ])('rejects %s = %j with a message naming the option, the value and what is expected', (name, value, message) => {
    const found = problems(() => plugin({ [name]: value }));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(message);
    expect(found[0]).toContain('plugin option');
  });

  it('accepts the hook-only options, with YAML booleans for run-in-docker', () => {
    expect(() => plugin({ 'run-in-docker': true, 'node-image': 'node:24-alpine' })).not.toThrow();
    expect(() => plugin({ 'run-in-docker': 'auto' })).not.toThrow();
  });

  it('accepts loopback http URLs only', () => {
    for (const url of ['http://localhost:9', 'http://127.0.0.1:9', 'http://[::1]:9', 'https://api.example.com/base/']) {
      expect(plugin({ 'api-url': url }).apiUrl).toBe(url.replace(/\/$/, ''));
    }
  });

  it('reports every problem at once, and unknown keys with a suggestion', () => {
    const found = problems(() => plugin({ timeout: 'x', 'max-failure': 3, 'poll-interval': 'y' }));
    expect(found).toHaveLength(3);
    expect(found.join('\n')).toMatch(/Unknown option "max-failure".*Did you mean "max-failures"\?/);
  });

  it('names the token variable and the scope when the token is missing and oidc is false', () => {
    const found = problems(() => plugin({ 'api-token-env-name': 'GATE_TOKEN', oidc: false }));
    expect(found).toEqual([expect.stringMatching(/variable GATE_TOKEN is empty or unset.*read_suites.*or set oidc to auto/)]);
  });

  it('without a token, authenticates with OIDC (oidc auto), for timeout + 120 s within 300–7200 s', () => {
    const { BUILDKITE_API_TOKEN: _, ...noToken } = ENV;
    expect(plugin({}, noToken)).toMatchObject({ token: undefined, oidc: { lifetimeSeconds: 720 } });
    expect(plugin({ timeout: 30 }, noToken).oidc).toEqual({ lifetimeSeconds: 300 });
    expect(plugin({ timeout: 9000 }, noToken).oidc).toEqual({ lifetimeSeconds: 7200 });
    // With a token, auto keeps to the token; true mints anyway and keeps the token for the org-level API.
    expect(plugin({}).oidc).toBeUndefined();
    expect(plugin({ oidc: 'true' })).toMatchObject({ token: { source: '$BUILDKITE_API_TOKEN' }, oidc: { lifetimeSeconds: 720 } });
    expect(plugin({ oidc: true }).oidc).toBeDefined();
  });

  it('never uses OIDC off Buildkite: the command line needs a token', () => {
    const { BUILDKITE_API_TOKEN: _, ...noToken } = ENV;
    const found = problems(() => parseConfig({ host: 'cli', values: {}, env: noToken }));
    expect(found).toEqual([expect.stringMatching(/No API token: the variable BUILDKITE_API_TOKEN is empty or unset/)]);
  });

  it('refuses the action-only api-token key in a plugin', () => {
    const found = problems(() => plugin({ 'api-token': 'abc' }));
    expect(found[0]).toMatch(/Unknown option "api-token"/);
  });

  it('explains a missing suite, org and build when the Buildkite variables are absent', () => {
    const found = problems(() => plugin({}, { BUILDKITE_API_TOKEN: 'x'.repeat(20) }));
    expect(found).toEqual([
      expect.stringMatching(/Missing "suite-slug".*BUILDKITE_PIPELINE_SLUG/),
      expect.stringMatching(/Missing "org".*BUILDKITE_ORGANIZATION_SLUG/),
      expect.stringMatching(/Missing "build-id".*BUILDKITE_BUILD_ID/),
    ]);
  });

  it('rejects configuration that is not a JSON object', () => {
    expect(problems(() => readPluginValues({ BUILDKITE_PLUGIN_CONFIGURATION: '{nope' }))[0]).toMatch(/not valid JSON/);
    expect(problems(() => readPluginValues({ BUILDKITE_PLUGIN_CONFIGURATION: '["web"]' }))[0]).toMatch(/mapping/);
  });
});

describe('plugin variables (no BUILDKITE_PLUGIN_CONFIGURATION)', () => {
  it('reads scalars and _N lists, and flags unknown variables', () => {
    const env = {
      ...ENV,
      BUILDKITE_PLUGIN_TEST_ENGINE_GATE_SUITE_SLUG_0: 'web',
      BUILDKITE_PLUGIN_TEST_ENGINE_GATE_SUITE_SLUG_1: 'api',
      BUILDKITE_PLUGIN_TEST_ENGINE_GATE_TIMEOUT: '120',
      BUILDKITE_PLUGIN_TEST_ENGINE_GATE_ALWAYS_ANNOTATE: 'true',
    };
    const { values, unknownKeys } = readPluginValues(env);
    const config = parseConfig({ host: 'buildkite', values, unknownKeys, env });
    expect(config.suites).toEqual(['web', 'api']);
    expect(config.timeoutMs).toBe(120_000);
    expect(config.alwaysAnnotate).toBe(true);

    const bad = { ...env, BUILDKITE_PLUGIN_TEST_ENGINE_GATE_TIMOUT: '5' };
    const read = readPluginValues(bad);
    expect(problems(() => parseConfig({ host: 'buildkite', ...read, env: bad }))[0]).toMatch(
      /Unknown option "timout" \(from BUILDKITE_PLUGIN_TEST_ENGINE_GATE_TIMOUT\)\. Did you mean "timeout"\?/,
    );
  });
});

describe('command-line flags', () => {
  it('take every option, lists by repetition or commas, and report where a bad value came from', () => {
    const command = parseCliArgs(['--suite-slug', 'web', '--suite-slug', 'api,mobile', '--timeout', '9', '--always-annotate', 'true']);
    expect(command.kind).toBe('gate');
    const values = (command as { values: Record<string, RawValue> }).values;
    const config = parseConfig({ host: 'cli', values, env: ENV });
    expect(config.suites).toEqual(['web', 'api', 'mobile']);
    expect(config.timeoutMs).toBe(9_000);
    expect(config.alwaysAnnotate).toBe(true);
    expect(config.context).toBe('test-engine-gate');

    const bad = parseCliArgs(['--timeout', 'soon']) as { values: Record<string, RawValue> };
    expect(problems(() => parseConfig({ host: 'cli', values: bad.values, env: ENV }))[0]).toMatch(/"timeout" \(from --timeout\): "soon"/);
  });

  it('refuses unknown flags with a pointer to --help', () => {
    expect(problems(() => parseCliArgs(['--timeuot', '5']))[0]).toMatch(/Unknown option '--timeuot'.*--help/);
  });
});

describe('GitHub inputs', () => {
  const inputs = (values: Record<string, string>) =>
    Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v, source: `input "${k}"` }]));

  it('looks the run up by commit ($GITHUB_SHA) when build-id is empty, and takes the api-token input', () => {
    const config = parseConfig({
      host: 'github',
      values: inputs({ 'suite-slug': 'web\napi', org: 'acme', 'api-token': 'tok_input_0123456789' }),
      env: { GITHUB_SHA: 'A3F1C2D4E5B6A7980123456789ABCDEF01234567' },
    });
    expect(config).toMatchObject({
      suites: ['web', 'api'],
      lookup: { kind: 'commit', commit: 'a3f1c2d4e5b6a7980123456789abcdef01234567' },
      token: { token: 'tok_input_0123456789', source: 'the api-token input' },
    });
  });

  it('prefers build-id over commit', () => {
    const config = parseConfig({
      host: 'github',
      values: inputs({ 'suite-slug': 'web', org: 'acme', 'api-token': 'tok_input_0123456789', 'build-id': ENV.BUILDKITE_BUILD_ID }),
      env: { GITHUB_SHA: 'a3f1c2d' },
    });
    expect(config.lookup).toEqual({ kind: 'build', buildId: ENV.BUILDKITE_BUILD_ID });
  });

  it('needs a build-id or a commit, and a token from the input or the variable', () => {
    const found = problems(() => parseConfig({ host: 'github', values: inputs({ 'suite-slug': 'web', org: 'acme' }), env: {} }));
    expect(found).toEqual([
      expect.stringMatching(/Missing "build-id".*or commit.*GITHUB_SHA/),
      expect.stringMatching(/No API token.*api-token input/),
    ]);
  });
});
