/**
 * THE table of options. The zod config schema (src/config.ts), plugin.yml's `configuration`,
 * action.yml's inputs, the README options block and `--help` are all derived from it:
 * `npm run manifests` regenerates the files, and test/manifests.test.ts fails when they drift.
 */

export type OptionType =
  | 'string'
  | 'slug'
  | 'slug-list'
  | 'uuid'
  | 'sha'
  | 'url'
  | 'seconds'
  | 'integer'
  | 'boolean'
  | 'choice';

/** Where the gate runs; each reads its options in its own way (src/hosts/). */
export type HostKind = 'buildkite' | 'github' | 'cli';

/** Value patterns, shared by the config schema (config.ts) and the generated plugin.yml schema. */
export const PATTERNS = {
  slug: '^[A-Za-z0-9][A-Za-z0-9_.-]*$',
  uuid: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
  sha: '^[0-9a-fA-F]{7,40}$',
} as const;

/** The oldest Node.js that runs dist/index.js (process.getBuiltinModule, undici 7); hooks/command checks it. */
export const MIN_NODE_VERSION = { major: 20, minor: 18 } as const;
/** The image hooks/command runs the bundle in when the agent's Node.js is missing or too old. */
export const DEFAULT_NODE_IMAGE = 'node:24.11.1-alpine3.22';

export interface OptionSpec {
  readonly name: string;
  readonly type: OptionType;
  readonly description: string;
  /** Literal default, shown in docs and used when nothing else gives a value. */
  readonly default?: string | number | boolean;
  /** Buildkite variable that supplies the default (before `default`). */
  readonly defaultEnv?: string;
  /** The default in words, for docs, where it is a rule rather than a value or a variable. */
  readonly defaultText?: string;
  /** Smallest and largest accepted value for numbers (largest 1 000 000 unless set); longest accepted length for strings. */
  readonly min?: number;
  readonly max?: number;
  readonly maxLength?: number;
  /** The accepted values of a `choice`. */
  readonly choices?: readonly string[];
  /** Hosts that accept the option; every host when absent. */
  readonly hosts?: readonly HostKind[];
}

export const OPTIONS = [
  {
    name: 'suite-slug',
    type: 'slug-list',
    defaultText: 'every suite of the build, else `$BUILDKITE_PIPELINE_SLUG`',
    description:
      'Test Engine suite slug(s) to gate on; a list gates on every one of them. Unset, the gate takes every suite with a run in the build (from the Builds API), or the pipeline slug when the build cannot be read.',
  },
  {
    name: 'org',
    type: 'slug',
    defaultEnv: 'BUILDKITE_ORGANIZATION_SLUG',
    description: 'Buildkite organization slug.',
  },
  {
    name: 'build-id',
    type: 'uuid',
    defaultEnv: 'BUILDKITE_BUILD_ID',
    description: 'UUID of the build whose Test Engine run is wanted.',
  },
  {
    name: 'pipeline',
    type: 'slug',
    defaultEnv: 'BUILDKITE_PIPELINE_SLUG',
    description: 'Pipeline slug of the build, for the Builds API (with `build-number`): the build\'s jobs judge retries, and its runs name the suites.',
  },
  {
    name: 'build-number',
    type: 'integer',
    min: 1,
    max: 2 ** 31 - 1,
    defaultEnv: 'BUILDKITE_BUILD_NUMBER',
    description: 'Number of the build in its pipeline, for the Builds API (scope `read_builds`); without it the build is not read and no test is excused as passed on retry.',
  },
  {
    name: 'commit',
    type: 'sha',
    defaultEnv: 'GITHUB_SHA',
    hosts: ['github'],
    description: 'Without build-id: the commit whose run is wanted (the newest of the suite\'s recent runs with this `commit_sha`).',
  },
  {
    name: 'api-token-env-name',
    type: 'string',
    default: 'BUILDKITE_API_TOKEN',
    description: 'Name of the environment variable that holds the API access token (scope `read_suites`).',
  },
  {
    name: 'oidc',
    type: 'choice',
    choices: ['auto', 'true', 'false'],
    default: 'auto',
    hosts: ['buildkite'],
    description:
      'Authenticate with a short-lived OIDC token per suite from `buildkite-agent oidc request-token`: `auto` when the token variable is empty, `true` always (an API token, if set, is then used only for the organization-level Build tests API), `false` never.',
  },
  {
    name: 'oidc-audience',
    type: 'string',
    hosts: ['buildkite'],
    description:
      'The audience of the OIDC tokens, a template with `{org}`, `{suite}` and `{api-url}`. Unset, the suite\'s API URL (`{api-url}/v2/analytics/organizations/{org}/suites/{suite}`) is tried first, then its web URL (`https://buildkite.com/organizations/{org}/analytics/suites/{suite}`), and the one that works is kept.',
  },
  {
    name: 'api-token',
    type: 'string',
    hosts: ['github'],
    description: 'The API access token itself (scope `read_suites`), passed from a secret.',
  },
  {
    name: 'github-token',
    type: 'string',
    hosts: ['github'],
    description:
      'A GitHub token with the `checks: write` permission (such as `${{ github.token }}`): the Action then creates a check run per suite on `sha`, with the verdict as its conclusion and the failures as annotations. Unset, no check run.',
  },
  {
    name: 'sha',
    type: 'sha',
    defaultEnv: 'GITHUB_SHA',
    hosts: ['github'],
    description: 'The commit the check runs go on (with `github-token`): the pull request\'s head commit when the workflow runs elsewhere, such as on `repository_dispatch`.',
  },
  {
    name: 'flaky-tests',
    type: 'choice',
    choices: ['pass', 'fail'],
    default: 'pass',
    description: 'Whether a test that failed and then passed on a retry in the same build fails the gate (`fail`) or is excused and listed (`pass`).',
  },
  {
    name: 'muted-tests',
    type: 'choice',
    choices: ['pass', 'fail'],
    default: 'pass',
    description: 'Whether a failure of a test muted in Test Engine\'s test state management fails the gate (`fail`) or is excused and listed (`pass`).',
  },
  {
    name: 'api-url',
    type: 'url',
    default: 'https://api.buildkite.com',
    description: 'Buildkite REST API base URL; plain `http` is accepted only for a loopback host.',
  },
  {
    name: 'timeout',
    type: 'seconds',
    default: 600,
    min: 1,
    description: 'Total seconds to wait for the run to appear and finish.',
  },
  {
    name: 'poll-interval',
    type: 'seconds',
    default: 2,
    min: 0.1,
    description: 'Seconds between polls (stretched automatically when the rate-limit budget runs low).',
  },
  {
    name: 'settle',
    type: 'seconds',
    default: 5,
    min: 0,
    description: 'Without the build (no `read_builds`): seconds after which a finished and passed run is read again before it is believed; 0 trusts the first read. With the build, a pass is final once no other job can still upload.',
  },
  {
    name: 'request-timeout',
    type: 'seconds',
    default: 30,
    min: 1,
    description: 'Seconds one HTTP request may take as a whole, headers and body, before it is abandoned and retried; never past `timeout`.',
  },
  {
    name: 'max-failures',
    type: 'integer',
    default: 50,
    min: 1,
    description: 'Failed executions shown in detail in the annotation.',
  },
  {
    name: 'context',
    type: 'string',
    default: 'test-engine-gate',
    maxLength: 100,
    hosts: ['buildkite'],
    description: 'Annotation context; `-<suite>` is appended when several suites are gated.',
  },
  {
    name: 'always-annotate',
    type: 'boolean',
    default: false,
    hosts: ['buildkite', 'cli'],
    description: 'Also annotate a passing run (style `success`; on the command line: also print its report).',
  },
  {
    name: 'annotate',
    type: 'boolean',
    default: true,
    hosts: ['buildkite'],
    description: 'Post annotations at all.',
  },
  {
    name: 'source-links',
    type: 'boolean',
    default: true,
    description:
      'Link each failure\'s location and the project\'s own backtrace frames to that line of the repository at the build\'s commit (GitHub, GitLab, Bitbucket; from `BUILDKITE_REPO` and `BUILDKITE_COMMIT`, or on GitHub Actions its server, repository and commit).',
  },
  {
    name: 'run-in-docker',
    type: 'choice',
    choices: ['auto', 'true', 'false'],
    default: 'auto',
    hosts: ['buildkite'],
    description: `Run the gate in the \`node-image\` container: \`auto\` when the agent has no Node.js ${MIN_NODE_VERSION.major}.${MIN_NODE_VERSION.minor}+, \`true\` always, \`false\` never (read by hooks/command).`,
  },
  {
    name: 'node-image',
    type: 'string',
    default: DEFAULT_NODE_IMAGE,
    hosts: ['buildkite'],
    description: 'Docker image that runs the gate when `run-in-docker` applies (read by hooks/command).',
  },
] as const satisfies readonly OptionSpec[];

export type OptionName = (typeof OPTIONS)[number]['name'];

export function optionsFor(host: HostKind): readonly OptionSpec[] {
  return (OPTIONS as readonly OptionSpec[]).filter((o) => !o.hosts || o.hosts.includes(host));
}

/** What a value of the type looks like, for messages and docs. */
export function describeType(option: OptionSpec): string {
  switch (option.type) {
    case 'string':
      return option.maxLength ? `a non-empty line of at most ${option.maxLength} characters` : 'a non-empty line of text';
    case 'slug':
      return 'a slug: letters, digits, "-" and "_", such as my-org';
    case 'slug-list':
      return 'a suite slug such as web, or a list of them';
    case 'uuid':
      return 'a UUID such as 0190a3b2-6c1f-7c3e-9a4b-2f1d5e8c7a60';
    case 'sha':
      return 'a commit SHA (7 to 40 hexadecimal characters)';
    case 'url':
      return 'an https URL such as https://api.buildkite.com';
    case 'seconds':
      return `a number of seconds such as 5 or 0.5 (at least ${option.min ?? 0})`;
    case 'integer':
      return `a whole number (at least ${option.min ?? 0})`;
    case 'boolean':
      return 'true or false';
    case 'choice':
      return `one of ${(option.choices ?? []).join(', ')}`;
  }
}
