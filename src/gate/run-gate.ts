/** Every suite at once, through one client, one rate-limit budget and one cancellation signal. */
import type { TestEngineClient } from '../api/client.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { SuiteOutcome } from './outcome.js';
import { gateSuite, type RunLookup, type SuiteProgress } from './wait-for-run.js';

export interface RunGateDeps {
  readonly client: TestEngineClient;
  readonly clock: Clock;
  readonly signal: AbortSignal;
  readonly log: (line: string) => void;
  /** Filled as the gate goes, so that an interrupt can say what was known. */
  readonly progress: Map<string, SuiteProgress>;
}

export function runGate(deps: RunGateDeps, config: Config, lookup: RunLookup): Promise<SuiteOutcome[]> {
  const settings = {
    lookup,
    timeoutMs: config.timeoutMs,
    pollIntervalMs: config.pollIntervalMs,
    settleMs: config.settleMs,
    maxFailures: config.maxFailures,
  };
  return Promise.all(
    config.suites.map((suite) => {
      const progress: SuiteProgress = { phase: 'finding' };
      deps.progress.set(suite, progress);
      return gateSuite(
        { api: deps.client, budget: deps.client.budget, clock: deps.clock, signal: deps.signal, log: deps.log, secrets: [config.token] },
        settings,
        suite,
        progress,
      );
    }),
  );
}
