/**
 * One gate run, once the host and its configuration are known: the API client, cancellation on
 * SIGINT/SIGTERM, every suite at once, the verdict in the log, the host's publishing, the exit code.
 */
import { formatSeconds, systemClock } from './clock.js';
import type { Config } from './config.js';
import { CancelledError, ExitCode, describeError } from './errors.js';
import { exitCodeFor } from './gate/outcome.js';
import { runGate } from './gate/run-gate.js';
import type { RunLookup, SuiteProgress } from './gate/wait-for-run.js';
import type { Env, Host } from './hosts/host.js';
import { verdictLines, verdictTitle } from './report/log-summary.js';

/** SPEC.md step 8: an interrupt stops within a second, whatever is still in flight. */
const INTERRUPT_GRACE_MS = 800;

export async function runConfiguredGate(host: Host, config: Config, env: Env, version: string): Promise<number> {
  const log = host.log;
  log.addSecret(config.token);
  const lookup: RunLookup = config.buildId ? { buildId: config.buildId } : { commit: config.commit! };

  log.group(`:test_tube: Test Engine gate ${version}: ${config.suites.join(', ')} in ${config.org}`);
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
  // One request never waits longer than the whole gate may.
  const dispatcher = createDispatcher(Math.min(config.requestTimeoutMs, config.timeoutMs), {
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
    userAgent: `test-engine-gate/${version}`,
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
