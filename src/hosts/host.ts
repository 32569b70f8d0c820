import type { MintToken } from '../auth.js';
import type { Config } from '../config.js';
import type { SuiteOutcome } from '../gate/verdict.js';
import type { SourceContext } from '../report/source.js';
import type { Log } from './log.js';

/** Where the gate runs: reads the configuration there, logs there, and publishes the outcome there. */
export interface Host {
  readonly log: Log;
  /** Throws ConfigError. Adds the token to the run's secrets before anything could print it. */
  readConfig(): Config;
  /** `source`: the checkout and repository the failures point into (SPEC.md step 6). */
  publish(outcomes: readonly SuiteOutcome[], config: Config, source: SourceContext): Promise<void>;
  /** Where the host reports a configuration error beyond the log (the Action: its outputs and job summary). */
  reportConfigError?(message: string): Promise<void>;
  /** Where the host can mint OIDC tokens (Buildkite's agent). */
  readonly mintToken?: MintToken;
}

export type Env = Readonly<Record<string, string | undefined>>;
