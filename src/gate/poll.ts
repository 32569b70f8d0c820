/**
 * What the phases of one suite's gate share: the API, the clock, the deadline, a suite-prefixed log, the
 * paced pause between polls, and `read`, which turns a read the transport gave up on into "nothing new this
 * time" (logged) so that the loop simply reads again at its next poll. Nothing here retries.
 */
import type { TestEngineApi } from '../api/endpoints.js';
export type { BuildTestPage } from '../api/endpoints.js';
import { SCOPE_WORDS, type RateLimitBudget } from '../api/rate-limit.js';
import type { Run } from '../api/schemas.js';
import { formatSeconds, type Clock } from '../clock.js';
import type { RunLookup } from '../config.js';
import type { BuildSettings } from './read-build.js';
import { CancelledError, TransientApiError, describeError } from '../errors.js';
import type { Secrets } from '../secrets.js';

/** The endpoints the gate reads; TestEngineApi in production, a scripted stand-in in unit tests. */
export type GateApi = Pick<TestEngineApi, 'findRuns' | 'getRun' | 'failedExecutions' | 'buildTests' | 'getBuild'>;
export type GateApiBuildTests = Pick<TestEngineApi, 'buildTests'>;

export interface GateDeps {
  readonly api: GateApi;
  readonly clock: Clock;
  readonly budget: RateLimitBudget;
  readonly signal: AbortSignal;
  readonly log: (line: string) => void;
  readonly secrets: Secrets;
}

export type ExcusePolicy = 'pass' | 'fail';

export interface GateSettings extends BuildSettings {
  readonly lookup: RunLookup;
  readonly timeoutMs: number;
  readonly pollIntervalMs: number;
  readonly settleMs: number;
  readonly maxFailures: number;
  readonly flakyTests: ExcusePolicy;
  readonly mutedTests: ExcusePolicy;
}

/** What is known of a suite so far; an interrupt prints it. */
export interface SuiteProgress {
  phase: 'finding' | 'waiting' | 'settling' | 'fetching failures' | 'checking retries and mutes' | 'done';
  run?: Run;
}

export class Poll {
  readonly start: number;
  readonly deadline: number;
  /** The last read the transport gave up on, for the inconclusive message. */
  lastError: string | undefined;
  #loggedPace = '';

  constructor(
    readonly deps: GateDeps,
    readonly settings: GateSettings,
    readonly suite: string,
    readonly progress: SuiteProgress,
  ) {
    this.start = deps.clock.now();
    this.deadline = this.start + settings.timeoutMs;
  }

  get now(): number {
    return this.deps.clock.now();
  }

  get timedOut(): boolean {
    return this.now >= this.deadline;
  }

  log(line: string): void {
    this.deps.log(`${this.suite}: ${line} [${formatSeconds(this.now - this.start)}]`);
  }

  /** One read; when the transport gave up on it, logs why and gives undefined: the next poll reads again. */
  async read<T>(read: () => Promise<T>): Promise<T | undefined> {
    try {
      return await read();
    } catch (error) {
      if (this.deps.signal.aborted) throw this.deps.signal.reason instanceof Error ? this.deps.signal.reason : new CancelledError();
      if (!(error instanceof TransientApiError)) throw error;
      this.lastError = describeError(error, this.deps.secrets);
      this.log(`${this.lastError}; reading again at the next poll`);
      return undefined;
    }
  }

  /** Sleeps one poll interval (stretched when the rate-limit budget runs low), never past the deadline. */
  async pause(): Promise<void> {
    const { budget, clock, signal } = this.deps;
    const pace = budget.pace(this.settings.pollIntervalMs, clock.now());
    const every = pace.scope ? (pace.nextWindow ? 'next window' : formatSeconds(pace.intervalMs)) : '';
    // Said once per change of pace, not at every poll.
    if (every && every !== this.#loggedPace) {
      const shared = pace.consumers && pace.consumers >= 1.5 ? `, shared with about ${Math.round(pace.consumers - 1)} other gates` : '';
      const left = `rate limit: ${pace.remaining} ${SCOPE_WORDS[pace.scope!]} requests left for ${formatSeconds(pace.resetMs!)}${shared}`;
      this.log(pace.nextWindow ? `${left}; this gate's share is spent, next read in ${formatSeconds(pace.intervalMs)}, after the reset` : `${left}; polling every ${every}`);
    }
    this.#loggedPace = every;
    await clock.sleep(Math.min(pace.intervalMs, Math.max(0, this.deadline - clock.now())), signal);
  }

  /** "; the last read failed: …" when a read was given up on, for inconclusive reasons (its own full stop dropped). */
  get lastErrorNote(): string {
    return this.lastError ? `; the last read failed: ${this.lastError.replace(/[.\s]+$/, '')}` : '';
  }
}
