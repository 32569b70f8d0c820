/**
 * Many gates sharing a rate-limit budget, in virtual time. Each gate is `run()` of src/main.ts in this process,
 * as the plugin runs it, against the simulated API over real HTTP; one clock serves them all and the API, and
 * it moves only when every live gate is asleep, to the earliest wake-up. So a build in which 40 gates wait a
 * minute for their share of the budget takes a second or two, repeats exactly for a seed, and is not disturbed
 * by a busy machine: the pacing is measured, not the scheduler. The bench runs it over many seeds; a test pins
 * one. Gates start spread over `startSpreadMs`, as processes started together on a small machine do.
 */
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../src/clock.js';
import { run } from '../src/main.js';
import { writeStandInAgent } from './agent-stub.js';
import { startFakeTestEngine, type FakeRun } from './fake-test-engine.js';

/** A clock that moves only when told: each sleep waits for `advance()` to reach its time. */
class VirtualClock implements Clock {
  time = 0;
  readonly #timers: { at: number; order: number; wake: () => void }[] = [];
  #order = 0;

  now(): number {
    return this.time;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const timer = { at: this.time + Math.max(0, ms), order: this.#order++, wake: resolve };
      this.#timers.push(timer);
      signal?.addEventListener('abort', () => {
        this.#timers.splice(this.#timers.indexOf(timer), 1);
        reject(signal.reason);
      }, { once: true });
    });
  }

  /** Sleeps not yet over. */
  get sleeping(): number {
    return this.#timers.length;
  }

  /** Moves to the earliest wake-up and wakes that sleeper. */
  advance(): void {
    let next = 0;
    for (let i = 1; i < this.#timers.length; i++) {
      const [a, b] = [this.#timers[i]!, this.#timers[next]!];
      if (a.at < b.at || (a.at === b.at && a.order < b.order)) next = i;
    }
    const [timer] = this.#timers.splice(next, 1);
    if (!timer) return;
    this.time = Math.max(this.time, timer.at);
    timer.wake();
  }
}

/** A small seeded generator (mulberry32): the same seed, the same build. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SharedBudgetCase {
  readonly gates: number;
  readonly tokens: number;
  /** Requests a window per organization and per token. */
  readonly orgLimit: number;
  readonly userLimit: number;
  readonly windowMs?: number;
  /** When every run finishes (default 6 s); odd-numbered runs fail with 3 failed executions. */
  readonly finishAtMs?: number;
  /** Every run passes instead. */
  readonly allPass?: boolean;
  /** Step 5b's Build tests reads (the default options); false sets flaky-tests and muted-tests to fail. */
  readonly excuses?: boolean;
  readonly seed?: number;
  /** Each request reaches the API between 5 ms and this much more after it is sent (default 40 ms). */
  readonly latencyMs?: number;
  /** Gates start at random moments within this much of the start (default 2 s). */
  readonly startSpreadMs?: number;
}

export interface SharedBudgetOutcome {
  /** When the last gate decided, from the start. */
  readonly slowestMs: number;
  readonly rateLimited: number;
  readonly requests: number;
  /** The requests by kind, as `traceBySecond` names them (f find, p poll, F, M, B, x 429). */
  readonly byKind: Readonly<Record<string, number>>;
  /** Gates whose exit code is not their run's verdict, and gates that decided nothing (exit 2 or 3). */
  readonly wrong: number;
  readonly undecided: number;
}

/** What a request of a gate was, in one letter: f find, p poll, F failed executions, M muted tests, B failing tests, x 429. */
function requestKind(q: { url: string; status: number }): string {
  if (q.status === 429) return 'x';
  if (q.url.includes('/builds/')) return q.url.includes('state=muted') ? 'M' : 'B';
  return q.url.includes('failed_executions') ? 'F' : q.url.includes('build_id=') ? 'f' : 'p';
}

function countBy(kinds: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const k of kinds) counts[k] = (counts[k] ?? 0) + 1;
  return counts;
}

/** The requests second by second from `t0`, a line a second: `  3 s ffpx`. */
export function traceBySecond(requests: readonly { url: string; status: number; at: number }[], t0: number): string[] {
  const bySecond = new Map<number, string[]>();
  for (const q of requests) {
    const second = Math.floor((q.at - t0) / 1000);
    bySecond.set(second, [...(bySecond.get(second) ?? []), requestKind(q)]);
  }
  return [...bySecond].sort((a, b) => a[0] - b[0]).map(([s, k]) => `${String(s).padStart(3)} s ${k.sort().join('')}`);
}

/**
 * A run for each gate, all finishing at `finishAtMs`: the odd-numbered ones failed, with 3 failed executions,
 * unless `allPass`.
 */
export function budgetRuns(gates: number, finishAtMs = 6_000, allPass = false): FakeRun[] {
  return Array.from({ length: gates }, (_, i) => ({
    id: `run-${i}`,
    buildId: `0190a3b2-6c1f-7c3e-9a4b-${String(i).padStart(12, '0')}`,
    timeline: [['running', 'pending']],
    schedule: [[0, 'running', 'pending'], [finishAtMs, 'finished', !allPass && i % 2 ? 'failed' : 'passed']],
    failures: !allPass && i % 2 ? 3 : 0,
  }));
}

/**
 * The gates' exit codes against their runs: `wrong` ones decided against their run's verdict (0 for a passed
 * run, 1 for a failed one), `undecided` ones exited with anything else (2, 3: a 429 they gave up on, say).
 */
export function tallyVerdicts(codes: readonly (number | null)[], runs: readonly FakeRun[]): { wrong: number; undecided: number } {
  const decided = (code: number | null) => code === 0 || code === 1;
  return {
    wrong: codes.filter((code, i) => decided(code) && code !== (runs[i]!.failures ? 1 : 0)).length,
    undecided: codes.filter((code) => !decided(code)).length,
  };
}

/**
 * Gate i's token: consecutive gates share one, so that each token carries as many failed runs as passed ones
 * (with i % tokens, tokens 1 and 3 of 4 would carry every failed run).
 */
export function budgetToken(base: string, i: number, gates: number, tokens: number): string {
  return `${base}_${Math.floor((i * tokens) / gates)}`;
}

const TOKEN_BASE = 'bkua_0123456789abcdef0123456789abcdef01234567';

/** Runs the case once; the clock, the gates' jitter and their start times all follow `seed`. */
export async function shareBudget(c: SharedBudgetCase): Promise<SharedBudgetOutcome> {
  const random = seeded(c.seed ?? 1);
  const clock = new VirtualClock();
  const runs = budgetRuns(c.gates, c.finishAtMs, c.allPass);
  const tokenOf = (i: number) => budgetToken(TOKEN_BASE, i, c.gates, c.tokens);
  const server = await startFakeTestEngine({
    org: 'acme',
    token: TOKEN_BASE,
    moreTokens: Array.from({ length: c.tokens }, (_, t) => `${TOKEN_BASE}_${t}`),
    suites: [{ slug: 'web', runs }],
    rateLimit: { orgLimit: c.orgLimit, userLimit: c.userLimit, windowMs: c.windowMs ?? 10_000 },
    now: () => clock.time,
    // A request reaches the API a round trip's part later: meanwhile other gates act, as they do over a network.
    delay: () => clock.sleep(5 + random() * (c.latencyMs ?? 40)),
  });
  const work = mkdtempSync(join(tmpdir(), 'teg-virtual-'));
  mkdirSync(join(work, 'bin'));
  mkdirSync(join(work, 'calls'));
  writeStandInAgent(join(work, 'bin'), join(work, 'calls'));
  const config = {
    'api-url': server.url,
    'poll-interval': 1,
    settle: 0,
    timeout: 120,
    ...(c.excuses === false ? { 'flaky-tests': 'fail', 'muted-tests': 'fail' } : {}),
  };
  // Each gate listens for SIGTERM and SIGINT, as the plugin does.
  process.setMaxListeners(Math.max(process.getMaxListeners(), 2 * c.gates + 10));
  const decidedAt: number[] = [];
  let live = c.gates;
  const gates = runs.map(async (r, i) => {
    const startAt = random() * (c.startSpreadMs ?? 2_000);
    const own = seeded(Math.floor(random() * 2 ** 32));
    await clock.sleep(startAt);
    try {
      return await run({
        argv: ['--buildkite-plugin'],
        env: {
          PATH: `${join(work, 'bin')}:${process.env.PATH}`,
          HOME: process.env.HOME ?? work,
          BUILDKITE: 'true',
          BUILDKITE_ORGANIZATION_SLUG: 'acme',
          BUILDKITE_PIPELINE_SLUG: 'web',
          BUILDKITE_BUILD_ID: r.buildId,
          BUILDKITE_API_TOKEN: tokenOf(i),
          BUILDKITE_PLUGIN_CONFIGURATION: JSON.stringify(config),
        },
        stdout: () => {},
        stderr: () => {},
        clock,
        random: own,
      });
    } finally {
      decidedAt[i] = clock.time;
      live--;
    }
  });
  try {
    // Time moves only when every live gate sleeps: whatever a gate does between sleeps takes no time.
    const all = Promise.all(gates);
    let done = false;
    void all.finally(() => (done = true)).catch(() => {});
    while (!done) {
      if (live > 0 && clock.sleeping === live) clock.advance();
      await new Promise((resolve) => setImmediate(resolve));
    }
    const codes = await all;
    return {
      slowestMs: Math.max(...decidedAt),
      rateLimited: server.rateLimited(),
      requests: server.requests.length,
      byKind: countBy(server.requests.map(requestKind)),
      ...tallyVerdicts(codes, runs),
    };
  } finally {
    await server.close();
    rmSync(work, { recursive: true, force: true });
  }
}
