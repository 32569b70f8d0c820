/** The command line: flags (then the Buildkite variables for defaults); the annotation Markdown on stdout. */
import { parseArgs } from 'node:util';
import { parseConfig, type Config, type RawValue } from '../config.js';
import { ConfigError } from '../errors.js';
import { shouldReport, type SuiteOutcome } from '../gate/verdict.js';
import { describeType, optionsFor, type OptionSpec } from '../options.js';
import { annotationBudget } from '../report/budget.js';
import { renderAnnotation } from '../report/render-annotation.js';
import { NO_SOURCE, type SourceContext } from '../report/source.js';
import type { Secrets } from '../secrets.js';
import type { Env, Host } from './host.js';
import { createLog, type Log } from './log.js';

export type CliCommand = { kind: 'help' } | { kind: 'version' } | { kind: 'gate'; values: Record<string, RawValue> };

export function parseCliArgs(argv: readonly string[]): CliCommand {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean', short: 'v' },
  };
  for (const option of optionsFor('cli')) {
    options[option.name] = { type: 'string', ...(option.type === 'slug-list' ? { multiple: true } : {}) };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false });
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new ConfigError([`${message}. Run with --help to see every option.`]);
  }
  if (parsed.values.help) return { kind: 'help' };
  if (parsed.values.version) return { kind: 'version' };
  const values: Record<string, RawValue> = {};
  for (const [name, value] of Object.entries(parsed.values)) {
    values[name] = { value, source: `--${name}` };
  }
  return { kind: 'gate', values };
}

export function helpText(version: string): string {
  const rows = optionsFor('cli').map((o: OptionSpec) => {
    const dflt = o.defaultEnv ? `$${o.defaultEnv}` : o.default !== undefined ? String(o.default) : '';
    return `  --${o.name.padEnd(20)} ${o.description}\n  ${''.padEnd(22)} ${describeType(o)}${dflt ? `; default ${dflt}` : ''}`;
  });
  return `test-engine-gate ${version}
Gate a build on its Buildkite Test Engine run: wait until the run is finished, print the failed
executions as Markdown, exit with the verdict.

Usage: test-engine-gate --suite-slug web [--suite-slug api] --org my-org --build-id <uuid> [options]

Options:
${rows.join('\n')}
  --help, -h             show this help
  --version, -v          show the version

The API token is read from the variable named by --api-token-env-name (default BUILDKITE_API_TOKEN);
it needs the read_suites scope.

Exit codes: 0 passed (or failed only on tests that passed on retry or are muted) · 1 tests failed ·
2 configuration, authentication or not-found error ·
3 inconclusive (no run, not finished in time, stale) · 130/143 interrupted.
`;
}

export class CliHost implements Host {
  readonly log: Log;
  readonly #env: Env;
  readonly #values: Record<string, RawValue>;
  readonly #stdout: (text: string) => void;
  readonly #secrets: Secrets;

  constructor(values: Record<string, RawValue>, env: Env, stdout: (text: string) => void, stderr: (text: string) => void, secrets: Secrets) {
    this.#values = values;
    this.#env = env;
    this.#stdout = stdout;
    this.#secrets = secrets;
    this.log = createLog(stderr, env.BUILDKITE === 'true' ? 'buildkite' : 'plain', secrets);
  }

  readConfig(): Config {
    const config = parseConfig({ host: 'cli', values: this.#values, env: this.#env });
    this.#secrets.add(config.token?.token);
    return config;
  }

  async publish(outcomes: readonly SuiteOutcome[], config: Config, source: SourceContext = NO_SOURCE): Promise<void> {
    const bodies = outcomes.filter((o) => shouldReport(o, config.alwaysAnnotate)).map((o) => renderAnnotation(o, { secrets: this.#secrets, budgetBytes: annotationBudget(config.maxFailures), source }));
    if (bodies.length) this.#stdout(bodies.join('\n<hr>\n\n'));
  }
}
