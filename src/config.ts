/**
 * Turns the raw option values a host collected into one typed, frozen Config, or a ConfigError that lists
 * every problem at once. Hosts only gather values (with where each came from); all the rules live here,
 * derived from the table in options.ts.
 */
import * as z from 'zod/mini';
import { ConfigError } from './errors.js';
import { OPTIONS, PATTERNS, describeType, optionsFor, type HostKind, type OptionName, type OptionSpec } from './options.js';

export interface RawValue {
  readonly value: unknown;
  /** Where the value came from, for messages: `--timeout`, `BUILDKITE_PLUGIN_TEST_ENGINE_GATE_TIMEOUT`, … */
  readonly source: string;
}

export interface ConfigInput {
  readonly host: HostKind;
  readonly values: Readonly<Partial<Record<string, RawValue>>>;
  /** Keys the host found that name no option, with their source; each one is an error. */
  readonly unknownKeys?: readonly RawValue[];
  /** The environment, for the Buildkite defaults and the token variable. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Which run: the build's (always, on Buildkite), or on GitHub without a build id the newest for a commit. */
export type RunLookup = { readonly kind: 'build'; readonly buildId: string } | { readonly kind: 'commit'; readonly commit: string };

/** An API access token, and where it came from (`$BUILDKITE_API_TOKEN`, the api-token input) for messages. */
export interface ApiToken {
  readonly token: string;
  readonly source: string;
}

/** Buildkite's OIDC tokens live at most two hours; the API wants one that outlasts the wait (SPEC.md step 1). */
const OIDC_LIFETIME_S = { min: 300, max: 7200, beyondTimeout: 120 } as const;

/** The build in the Builds API's terms (SPEC.md step 2): its pipeline and number, not its UUID. */
export interface BuildRef {
  readonly pipeline: string;
  readonly number: number;
}

export interface Config {
  /** Where the gate runs. */
  readonly host: HostKind;
  /** The suites to gate: those of suite-slug, or when it is unset the fallback (the pipeline slug), if any. */
  readonly suites: readonly string[];
  /** True when suite-slug is unset: every suite of the build is gated when the build can be read, else `suites`. */
  readonly suitesFromBuild: boolean;
  /** The build for the Builds API, when its pipeline and number are known. */
  readonly build: BuildRef | undefined;
  /** The gate's own job ($BUILDKITE_JOB_ID): it never counts as a job that could still upload, nor as a failed one. */
  readonly jobId: string | undefined;
  readonly org: string;
  readonly lookup: RunLookup;
  readonly apiUrl: string;
  /** The API token, when one is set; without one the plugin authenticates with OIDC tokens only. */
  readonly token: ApiToken | undefined;
  /** The variable the token is read from (api-token-env-name), for messages that say where to put one. */
  readonly tokenVariable: string;
  /** Set when suite endpoints use an OIDC token per suite (Buildkite only): its lifetime, and `oidc-audience` if set. */
  readonly oidc: { readonly lifetimeSeconds: number; readonly audience: string | undefined } | undefined;
  readonly timeoutMs: number;
  readonly pollIntervalMs: number;
  readonly settleMs: number;
  readonly requestTimeoutMs: number;
  readonly maxFailures: number;
  readonly flakyTests: 'pass' | 'fail';
  readonly mutedTests: 'pass' | 'fail';
  readonly context: string;
  readonly alwaysAnnotate: boolean;
  readonly annotate: boolean;
  /** Link locations and the project's frames to the repository (source-links). */
  readonly sourceLinks: boolean;
  /** The Action: a check run per suite on `sha`, when a github-token is given. */
  readonly checks: { readonly token: string; readonly sha: string } | undefined;
}

const SLUG = new RegExp(PATTERNS.slug);
const GUID = new RegExp(PATTERNS.uuid);
const SHA = new RegExp(PATTERNS.sha);
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/** A number, or text that is entirely a number: "5s" and "ten" are errors, not 5 and 0. */
const numberFrom = (pattern: RegExp) => z.union([z.number(), z.pipe(z.string().check(z.trim(), z.regex(pattern)), z.transform(Number))]);

const seconds = (min: number) =>
  z.pipe(z.pipe(numberFrom(/^\d+(\.\d+)?$/), z.number().check(z.gte(min), z.lte(86_400))), z.transform((s: number) => Math.round(s * 1000)));

const wholeNumber = (min: number, max = 1_000_000) => z.pipe(numberFrom(/^\d+$/), z.int().check(z.gte(min), z.lte(max)));

const slug = z.string().check(z.trim(), z.regex(SLUG));

/** A custom issue from inside a transform: its message becomes the "Expected …" of the error. */
function reject(ctx: { issues: unknown[] }, input: unknown, message: string): never {
  ctx.issues.push({ code: 'custom', message, input });
  return z.NEVER;
}

/** One zod schema per option type: what a host may hand over (strings, JSON values) → the typed value. */
function schemaFor(option: OptionSpec): z.ZodMiniType {
  switch (option.type) {
    case 'string':
      // One line: a line break in a context or an image name is a mistake, never meant.
      return z.string().check(z.trim(), z.minLength(1), z.maxLength(option.maxLength ?? 10_000), z.regex(/^[^\r\n]*$/));
    case 'slug':
      return slug;
    case 'slug-list':
      return z.pipe(
        z.pipe(
          z.union([z.pipe(z.string(), z.transform((s: string) => [s])), z.array(z.string())]),
          // Action inputs and flags carry lists as text too: "web, api" or one per line.
          z.transform((items: string[]) => items.flatMap((s) => s.split(/[\s,]+/)).filter(Boolean)),
        ),
        z.pipe(z.array(slug).check(z.minLength(1)), z.transform((list: string[]) => [...new Set(list)])),
      );
    case 'uuid':
      return z.string().check(z.trim(), z.regex(GUID));
    case 'sha':
      return z.pipe(z.string().check(z.trim(), z.regex(SHA)), z.transform((s: string) => s.toLowerCase()));
    case 'url':
      return z.pipe(
        z.string().check(z.trim()),
        z.transform((s: string, ctx) => {
          let url: URL;
          try {
            url = new URL(s);
          } catch {
            return reject(ctx, s, describeType(option));
          }
          if (url.protocol === 'http:' && !isLoopback(url.hostname)) {
            return reject(ctx, s, 'https: plain http would send the API token in clear text (allowed only for a loopback host such as 127.0.0.1)');
          }
          if (url.username || url.password) {
            return reject(ctx, s, `${describeType(option)} without credentials: the token goes only in the Authorization header, and a password in api-url would be printed and sent wherever the URL goes`);
          }
          if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash) {
            return reject(ctx, s, describeType(option) + ', without query, fragment or credentials');
          }
          return url.href.replace(/\/+$/, '');
        }),
      );
    case 'seconds':
      return seconds(option.min ?? 0);
    case 'integer':
      return wholeNumber(option.min ?? 0, option.max);
    case 'boolean':
      return z.union([z.boolean(), z.pipe(z.enum(['true', 'false']), z.transform((v: 'true' | 'false') => v === 'true'))]);
    case 'choice':
      // YAML gives `true`/`false` as booleans; they name choices too.
      return z.pipe(z.union([z.pipe(z.boolean(), z.transform(String)), z.string().check(z.trim())]), z.enum(option.choices as [string, ...string[]]));
  }
}

function show(value: unknown): string {
  // JSON has no Infinity (1e400 in YAML) or NaN: say what they are, not "null".
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  // A URL's credentials are never printed, not even in the message that refuses them.
  if (typeof value === 'string') value = value.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, '$1[credentials]@');
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}

/** The closest option name, for "did you mean" (Levenshtein distance ≤ 3). */
function closest(key: string, names: readonly string[]): string | undefined {
  const distance = (a: string, b: string): number => {
    const row = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
      let prev = row[0]!;
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const next = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
        prev = row[j]!;
        row[j] = next;
      }
    }
    return row[b.length]!;
  };
  let best: string | undefined;
  let bestDistance = 4;
  for (const name of names) {
    const d = distance(key.toLowerCase().replace(/_/g, '-'), name);
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  return best;
}

export function parseConfig(input: ConfigInput): Config {
  const options = optionsFor(input.host);
  const names = options.map((o) => o.name);
  const problems: string[] = [];
  for (const unknown of input.unknownKeys ?? []) {
    const guess = closest(String(unknown.value), names);
    problems.push(
      `Unknown option "${String(unknown.value)}" (from ${unknown.source}).` +
        (guess ? ` Did you mean "${guess}"?` : '') +
        ` Valid options: ${names.join(', ')}.`,
    );
  }

  const parsed: Partial<Record<OptionName, unknown>> = {};
  // Options of other hosts keep their defaults here (the host never offers them).
  for (const option of OPTIONS as readonly OptionSpec[]) {
    if (!options.includes(option) && option.default !== undefined) parsed[option.name as OptionName] = schemaFor(option).parse(option.default);
  }
  for (const option of options) {
    let raw = input.values[option.name];
    if (raw === undefined || raw.value === undefined || raw.value === '') {
      const fromEnv = option.defaultEnv ? input.env[option.defaultEnv] : undefined;
      if (fromEnv) raw = { value: fromEnv, source: `the default, $${option.defaultEnv}` };
      else if (option.default !== undefined) raw = { value: option.default, source: 'the default' };
      else continue;
    }
    const result = schemaFor(option).safeParse(raw.value);
    if (result.success) {
      parsed[option.name as OptionName] = result.data;
    } else {
      const custom = result.error.issues.find((i) => i.code === 'custom')?.message;
      problems.push(
        `Invalid value for "${option.name}" (from ${raw.source}): ${show(raw.value)}. Expected ${custom ?? describeType(option)}.`,
      );
    }
  }

  const missing = (name: OptionName, hint: string) => {
    if (parsed[name] === undefined && !problems.some((p) => p.includes(`"${name}"`))) {
      problems.push(`Missing "${name}": ${hint}`);
    }
  };
  const buildNamed = parsed.pipeline !== undefined && parsed['build-number'] !== undefined;
  if (!buildNamed && parsed.pipeline === undefined) {
    missing('suite-slug', 'set suite-slug to the Test Engine suite slug (it defaults to every suite of the build, which needs pipeline and build-number, else to $BUILDKITE_PIPELINE_SLUG).');
  }
  missing('org', 'set org to the Buildkite organization slug (it defaults to $BUILDKITE_ORGANIZATION_SLUG).');
  if (input.host !== 'github') {
    missing('build-id', 'set build-id to the build UUID (it defaults to $BUILDKITE_BUILD_ID).');
  } else if (parsed['build-id'] === undefined && parsed.commit === undefined) {
    missing('build-id', 'set build-id to the Buildkite build UUID, or commit to find the run by its commit (it defaults to $GITHUB_SHA).');
  }

  // SPEC.md step 1: `api-token` (Action), then the variable named by api-token-env-name, then (Buildkite,
  // oidc auto or true) an OIDC token per suite.
  const tokenEnvName = String(parsed['api-token-env-name'] ?? 'BUILDKITE_API_TOKEN');
  let token = typeof parsed['api-token'] === 'string' ? parsed['api-token'] : undefined;
  let tokenSource = 'the api-token input';
  const oidcChoice = input.host === 'buildkite' ? String(parsed.oidc ?? 'auto') : 'false';
  if (!ENV_NAME.test(tokenEnvName)) {
    problems.push(
      `Invalid value for "api-token-env-name" (from ${input.values['api-token-env-name']?.source ?? 'the default'}): ${show(tokenEnvName)}. Expected the name of an environment variable, such as BUILDKITE_API_TOKEN.`,
    );
  } else if (token === undefined) {
    token = input.env[tokenEnvName]?.trim() || undefined;
    tokenSource = `$${tokenEnvName}`;
    if (token === undefined && oidcChoice === 'false') {
      problems.push(
        `No API token: the variable ${tokenEnvName} is empty or unset. Set it to a Buildkite API access token with the ` +
          `read_suites scope` +
          (input.host === 'github'
            ? ', or pass the token with the api-token input (from a secret).'
            : input.host === 'buildkite'
              ? ' (for example from a secret in an environment hook), name another variable with api-token-env-name, or set oidc to auto to use the agent\'s OIDC token instead.'
              : ' (for example from a secret in an environment hook), or name another variable with api-token-env-name.'),
      );
    }
  }
  const audience = parsed['oidc-audience'];
  if (typeof audience === 'string') {
    const unknown = [...audience.matchAll(/\{([^}]*)\}/g)].map((m) => m[0]).filter((p) => !['{org}', '{suite}', '{api-url}'].includes(p));
    if (unknown.length) {
      problems.push(`Invalid value for "oidc-audience" (from ${input.values['oidc-audience']?.source ?? 'the default'}): ${show(audience)}. Expected a URL whose only placeholders are {org}, {suite} and {api-url} (not ${unknown.join(', ')}).`);
    }
  }
  if (parsed['github-token'] !== undefined && parsed.sha === undefined) {
    missing('sha', 'set sha to the commit the check runs go on (it defaults to $GITHUB_SHA).');
  }
  if (token !== undefined && /[\r\n]/.test(token)) {
    problems.push(`The API token in ${tokenSource} contains a line break; check how the secret was stored.`);
  }
  const useOidc = oidcChoice === 'true' || (oidcChoice === 'auto' && token === undefined);
  const timeoutSeconds = Math.ceil(Number(parsed.timeout ?? 600_000) / 1000);
  const lifetimeSeconds = Math.min(OIDC_LIFETIME_S.max, Math.max(OIDC_LIFETIME_S.min, timeoutSeconds + OIDC_LIFETIME_S.beyondTimeout));

  if (problems.length > 0) throw new ConfigError(problems);

  const listed = parsed['suite-slug'] as string[] | undefined;
  const suites = listed ?? (typeof parsed.pipeline === 'string' ? [parsed.pipeline] : []);
  const buildId = parsed['build-id'] as string | undefined;
  return Object.freeze({
    host: input.host,
    suites: Object.freeze([...suites]),
    suitesFromBuild: listed === undefined,
    build: buildNamed ? Object.freeze({ pipeline: parsed.pipeline as string, number: parsed['build-number'] as number }) : undefined,
    jobId: input.host === 'buildkite' ? input.env.BUILDKITE_JOB_ID?.trim() || undefined : undefined,
    org: parsed.org as string,
    lookup: Object.freeze(buildId !== undefined ? { kind: 'build', buildId } : { kind: 'commit', commit: parsed.commit as string }),
    apiUrl: parsed['api-url'] as string,
    token: token === undefined ? undefined : Object.freeze({ token, source: tokenSource }),
    tokenVariable: tokenEnvName,
    oidc: useOidc ? Object.freeze({ lifetimeSeconds, audience: parsed['oidc-audience'] as string | undefined }) : undefined,
    timeoutMs: parsed.timeout as number,
    pollIntervalMs: parsed['poll-interval'] as number,
    settleMs: parsed.settle as number,
    requestTimeoutMs: parsed['request-timeout'] as number,
    maxFailures: parsed['max-failures'] as number,
    flakyTests: parsed['flaky-tests'] as 'pass' | 'fail',
    mutedTests: parsed['muted-tests'] as 'pass' | 'fail',
    context: parsed.context as string,
    alwaysAnnotate: parsed['always-annotate'] as boolean,
    annotate: parsed.annotate as boolean,
    sourceLinks: parsed['source-links'] as boolean,
    checks:
      typeof parsed['github-token'] === 'string' && typeof parsed.sha === 'string'
        ? Object.freeze({ token: parsed['github-token'], sha: parsed.sha })
        : undefined,
  });
}
