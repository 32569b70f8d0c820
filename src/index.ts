/**
 * Picks the host, runs the gate, turns the outcome into an exit code. `hooks/command` runs this with
 * `--buildkite-plugin`; under GitHub Actions (GITHUB_ACTIONS=true, no arguments) it is the Action; anything
 * else is the command line.
 */
import { writeSync } from 'node:fs';
import { systemClock, formatSeconds } from './clock.js';
import { CancelledError, ExitCode, describeError } from './errors.js';
import { exitCodeFor } from './gate/outcome.js';
import { runGate } from './gate/run-gate.js';
import type { RunLookup, SuiteProgress } from './gate/wait-for-run.js';
import { BuildkiteHost } from './hosts/buildkite.js';
import { CliHost, helpText, parseCliArgs } from './hosts/cli.js';
import type { Env, Host } from './hosts/host.js';
import { GithubHost } from './hosts/github.js';
import { loadActionsCore } from './hosts/load-actions-core.js';
import { verdictLines, verdictTitle } from './report/log-summary.js';

declare const __VERSION__: string;
const VERSION = typeof __VERSION__ === 'string' ? __VERSION__ : '0.0.0-dev';
/** SPEC.md step 8: an interrupt stops within a second, whatever is still in flight. */
const INTERRUPT_GRACE_MS = 800;

const stdout = (text: string) => void process.stdout.write(text);
/** For --help and --version: a plain write, without setting up the process.stdout stream. */
const printNow = (text: string) => void writeSync(1, text);
const stderr = (text: string) => void process.stderr.write(text);

async function main(argv: readonly string[], env: Env): Promise<number> {
  let host: Host;
  if (argv[0] === '--buildkite-plugin') {
    host = new BuildkiteHost(env, stdout);
  } else if (env.GITHUB_ACTIONS === 'true' && argv.length === 0) {
    host = new GithubHost(env, stdout, loadActionsCore());
  } else {
    let command;
    try {
      command = parseCliArgs(argv);
    } catch (error) {
      stderr(`test-engine-gate: ${describeError(error)}\n`);
      return ExitCode.Error;
    }
    if (command.kind === 'help') return printNow(helpText(VERSION)), ExitCode.Passed;
    if (command.kind === 'version') return printNow(`${VERSION}\n`), ExitCode.Passed;
    host = new CliHost(command.values, env, stdout, stderr);
  }
  const log = host.log;

  let config;
  try {
    config = host.readConfig();
  } catch (error) {
    log.group(':octagonal_sign: Test Engine gate: configuration error', true);
    log.error(describeError(error));
    return ExitCode.Error;
  }
  log.addSecret(config.token);
  const lookup: RunLookup = config.buildId ? { buildId: config.buildId } : { commit: config.commit! };

  log.group(`:test_tube: Test Engine gate ${VERSION}: ${config.suites.join(', ')} in ${config.org}`);
  log.line(
    `Waiting for the Test Engine run of ${config.buildId ? `build ${config.buildId}` : `commit ${config.commit}`} (timeout ${formatSeconds(config.timeoutMs)}, ` +
      `poll every ${formatSeconds(config.pollIntervalMs)}, settle ${formatSeconds(config.settleMs)}, API ${config.apiUrl})`,
  );

  const controller = new AbortController();
  const onSignal = (signal: 'SIGINT' | 'SIGTERM') => {
    if (controller.signal.aborted) return;
    controller.abort(new CancelledError(signal));
    setTimeout(() => process.exit(new CancelledError(signal).exitCode), INTERRUPT_GRACE_MS).unref();
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));

  // Loaded only now: --help, --version and configuration errors never pay for undici.
  const { TestEngineClient, createDispatcher } = await import('./api/client.js');
  const dispatcher = createDispatcher(config.requestTimeoutMs, {
    httpProxy: env.HTTP_PROXY ?? env.http_proxy,
    httpsProxy: env.HTTPS_PROXY ?? env.https_proxy,
    noProxy: env.NO_PROXY ?? env.no_proxy,
  });
  const client = new TestEngineClient({
    apiUrl: config.apiUrl,
    org: config.org,
    token: config.token,
    tokenSource: config.tokenSource,
    dispatcher,
    signal: controller.signal,
    log: (line) => log.line(line),
    userAgent: `test-engine-gate/${VERSION}`,
  });
  const progress = new Map<string, SuiteProgress>();
  try {
    const outcomes = await runGate(
      { client, clock: systemClock, signal: controller.signal, log: (line) => log.line(line), progress },
      config,
      lookup,
    );
    for (const outcome of outcomes) {
      log.group(verdictTitle(outcome), outcome.verdict !== 'passed');
      for (const line of verdictLines(outcome, [config.token])) log.line(line);
    }
    await host.publish(outcomes, config);
    const code = exitCodeFor(outcomes);
    log.line(`Exit ${code}: ${['passed', 'tests failed', 'error', 'inconclusive'][code]} (${client.requests} API requests)`);
    return code;
  } catch (error) {
    if (error instanceof CancelledError) {
      log.group(`:warning: Test Engine gate interrupted by ${error.signal}`, true);
      for (const [suite, p] of progress) {
        const run = p.run ? `run ${p.run.state}, result ${p.run.result}${p.run.web_url ? ` (${p.run.web_url})` : ''}` : 'no run found yet';
        log.line(`${suite}: ${p.phase}; ${run}`);
      }
      return error.exitCode;
    }
    log.group(':octagonal_sign: Test Engine gate: internal error', true);
    log.line(`${describeError(error, [config.token])} — this is a bug in test-engine-gate; please report it with this log.`);
    return ExitCode.Error;
  } finally {
    await dispatcher.destroy().catch(() => {});
  }
}

main(process.argv.slice(2), process.env).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    stderr(`test-engine-gate: ${describeError(error)}\n`);
    process.exitCode = ExitCode.Error;
  },
);
