/**
 * The program: picks the host, reads its configuration, runs the gate for every suite, publishes the
 * outcome, and returns the exit code. `hooks/command` runs it with `--buildkite-plugin`; under GitHub
 * Actions (GITHUB_ACTIONS=true, no arguments) it is the Action; anything else is the command line.
 * `run()` with no arguments at all is the Action's entrypoint, as an action's runner calls it: that is what
 * `npx @github/local-action run . src/main.ts .env` does.
 */
import { writeSync } from 'node:fs';
import { systemClock, formatSeconds, type Clock } from './clock.js';
import { credentials, fillAudience, oidcAudience } from './auth.js';
import type { Config } from './config.js';
import { CancelledError, ExitCode, describeError } from './errors.js';
import { runGate, type SuiteProgress } from './gate/index.js';
import { VERDICTS, exitCodeFor } from './gate/verdict.js';
import { BuildkiteHost } from './hosts/buildkite.js';
import { CliHost, helpText, parseCliArgs } from './hosts/cli.js';
import type { Env, Host } from './hosts/host.js';
import { sourceContext } from './hosts/checkout.js';
import { verdictLines, verdictTitle } from './report/log-summary.js';
import { NO_SOURCE } from './report/source.js';
import { Secrets } from './secrets.js';

declare const __VERSION__: string;
const VERSION = typeof __VERSION__ === 'string' ? __VERSION__ : '0.0.0-dev';

/** What each host calls the full report, for the log's "… and N more in …". */
const REPORT_NAME = { buildkite: 'the annotation', github: 'the job summary', cli: 'the report' } as const;

/** SPEC.md step 8: an interrupt stops within a second, whatever is still in flight. */
const INTERRUPT_GRACE_MS = 800;

/** What the program gets from its process; tests run it in-process with their own. */
export interface Runtime {
  readonly argv: readonly string[];
  readonly env: Env;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly clock: Clock;
  /** The backoff's jitter; tests pass a constant. */
  readonly random?: () => number;
}

function processRuntime(): Runtime {
  return {
    argv: [],
    env: process.env,
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    clock: systemClock,
  };
}

export async function run(overrides: Partial<Runtime> = {}): Promise<number> {
  const runtime: Runtime = { ...processRuntime(), ...overrides };
  const { argv, env } = runtime;
  const secrets = new Secrets();
  let host: Host;
  if (argv[0] === '--buildkite-plugin') {
    host = new BuildkiteHost(env, runtime.stdout, secrets);
  } else if (overrides.argv === undefined || (env.GITHUB_ACTIONS === 'true' && argv.length === 0)) {
    // Only here: the Buildkite plugin and the command line never load @actions/core.
    const [{ GithubHost }, core] = await Promise.all([import('./hosts/github.js'), import('@actions/core')]);
    host = new GithubHost(env, runtime.stdout, core, secrets);
  } else {
    let command;
    try {
      command = parseCliArgs(argv);
    } catch (error) {
      runtime.stderr(`test-engine-gate: ${describeError(error)}\n`);
      return ExitCode.Error;
    }
    // --help and --version: a plain write, without setting up the process.stdout stream.
    if (command.kind === 'help') return writeSync(1, helpText(VERSION)), ExitCode.Passed;
    if (command.kind === 'version') return writeSync(1, `${VERSION}\n`), ExitCode.Passed;
    host = new CliHost(command.values, env, runtime.stdout, runtime.stderr, secrets);
  }

  let config: Config;
  try {
    config = host.readConfig();
  } catch (error) {
    host.log.group(`${VERDICTS.error.emoji} Test Engine gate: configuration error`, true);
    host.log.error(describeError(error, secrets));
    await host.reportConfigError?.(describeError(error, secrets));
    return ExitCode.Error;
  }
  try {
    return await gate(host, config, runtime, secrets);
  } catch (error) {
    host.log.group(`${VERDICTS.error.emoji} Test Engine gate: internal error`, true);
    host.log.line(`${describeError(error, secrets)} — this is a bug in test-engine-gate; please report it with this log.`);
    return ExitCode.Error;
  }
}

/** Which credential the gate uses, once, without its value. */
function describeCredentials(config: Config): string {
  if (!config.oidc) return `API token from ${config.token!.source}`;
  const audience = config.oidc.audience
    ? fillAudience(config.oidc.audience, config.apiUrl, config.org, '<suite>')
    : `${oidcAudience(config.apiUrl, config.org, '')}<suite> (then the suite's web URL if that is refused)`;
  const orgLevel = config.token ? `; the Build tests API with the API token from ${config.token.source}` : '';
  return `OIDC token per suite from buildkite-agent, audience ${audience}, valid ${formatSeconds(config.oidc.lifetimeSeconds * 1000)}${orgLevel}`;
}

/** One gate run once the configuration is known: client, cancellation, every suite, verdict, publishing. */
async function gate(host: Host, config: Config, runtime: Runtime, secrets: Secrets): Promise<number> {
  const { log } = host;
  const { env, clock } = runtime;
  const subject = config.lookup.kind === 'build' ? `build ${config.lookup.buildId}` : `commit ${config.lookup.commit}`;
  const suites = config.suitesFromBuild && config.build ? `every suite of ${config.build.pipeline} #${config.build.number}` : config.suites.join(', ');
  log.group(`:test_tube: Test Engine gate ${VERSION}: ${suites} in ${config.org}`);
  log.line(
    `Waiting for the Test Engine run of ${subject} (timeout ${formatSeconds(config.timeoutMs)}, poll every ${formatSeconds(config.pollIntervalMs)}, ` +
      `settle ${formatSeconds(config.settleMs)}, API ${config.apiUrl})`,
  );
  log.line(`Credentials: ${describeCredentials(config)}`);

  const controller = new AbortController();
  const onSignal = (signal: 'SIGINT' | 'SIGTERM') => {
    if (controller.signal.aborted) return;
    controller.abort(new CancelledError(signal));
    setTimeout(() => process.exit(new CancelledError(signal).exitCode), INTERRUPT_GRACE_MS).unref();
  };
  const onTerm = () => onSignal('SIGTERM');
  const onInt = () => onSignal('SIGINT');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);

  // Loaded only now: --help, --version and configuration errors never pay for undici.
  const [{ Transport, createDispatcher }, { TestEngineApi }] = await Promise.all([import('./api/transport.js'), import('./api/endpoints.js')]);
  // One request never waits longer than the whole gate may.
  const dispatcher = createDispatcher(Math.min(config.requestTimeoutMs, config.timeoutMs), {
    httpProxy: env.HTTP_PROXY ?? env.http_proxy,
    httpsProxy: env.HTTPS_PROXY ?? env.https_proxy,
    noProxy: env.NO_PROXY ?? env.no_proxy,
  });
  const transport = new Transport({
    apiUrl: config.apiUrl,
    requestTimeoutMs: config.requestTimeoutMs,
    dispatcher,
    signal: controller.signal,
    log: (line) => log.line(line),
    clock,
    secrets,
    userAgent: `test-engine-gate/${VERSION}`,
    ...(runtime.random ? { random: runtime.random } : {}),
  });
  const mint = host.mintToken;
  // An interrupt ends a mint in flight, and the agent process with it.
  const credentialFor = credentials(config, mint && ((audience, lifetime) => mint(audience, lifetime, controller.signal)), secrets, (line) => log.line(line));
  const api = new TestEngineApi(transport, { apiUrl: config.apiUrl, org: config.org, credentialFor });
  const progress = new Map<string, SuiteProgress>();
  try {
    const outcomes = await runGate(
      { api, clock, budget: transport.budget, signal: controller.signal, log: (line) => log.line(line), secrets },
      { ...config, hasApiToken: config.token !== undefined },
      { suites: config.suites, fromBuild: config.suitesFromBuild },
      progress,
    );
    // The checkout is read only when there is a failure to point into it.
    const source = outcomes.some((o) => o.failures?.executions.length) ? sourceContext(config, env, process.cwd()) : NO_SOURCE;
    for (const outcome of outcomes) {
      log.group(verdictTitle(outcome), outcome.verdict !== 'passed');
      for (const line of verdictLines(outcome, secrets, REPORT_NAME[config.host], source)) log.line(line);
    }
    await host.publish(outcomes, config, source);
    const code = exitCodeFor(outcomes);
    const meaning = Object.values(VERDICTS).find((v) => v.exitCode === code)!.meaning;
    log.line(`Exit ${code}: ${meaning} (${transport.requests} API request${transport.requests === 1 ? '' : 's'})`);
    return code;
  } catch (error) {
    if (!(error instanceof CancelledError)) throw error;
    log.group(`:warning: Test Engine gate interrupted by ${error.signal}`, true);
    for (const [suite, p] of progress) {
      const run = p.run ? `run ${p.run.state}, result ${p.run.result}${p.run.web_url ? ` (${p.run.web_url})` : ''}` : 'no run found yet';
      log.line(`${suite}: ${p.phase}; ${run}`);
    }
    return error.exitCode;
  } finally {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    await dispatcher.destroy().catch(() => {});
  }
}
