/**
 * Runs the bundled program the way the agent does: `bash hooks/command` from another directory, the plugin
 * configuration in BUILDKITE_PLUGIN_CONFIGURATION, and a stand-in `buildkite-agent` first on PATH that
 * records its arguments and standard input.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach } from 'vitest';
import { readAgentCalls, writeStandInAgent, type AgentCall } from '../../sim/agent-stub.js';
import type { FakeBuild, FakeJob, FakeRun, FakeTestEngine } from '../../sim/fake-test-engine.js';
import { run } from '../../src/main.js';
import { FakeClock } from './fake-clock.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const HOOK = join(ROOT, 'hooks/command');
export const BUNDLE = join(ROOT, 'dist/index.js');

export type { AgentCall };

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly agentCalls: AgentCall[];
  readonly ms: number;
}

export interface RunOptions {
  /** Plugin settings, as pipeline.yml would give them. */
  readonly config?: Record<string, unknown>;
  /** Extra or overriding environment variables; undefined removes one. */
  readonly env?: Record<string, string | undefined>;
  /** Exit status of the stand-in agent (to simulate a failing agent); 'missing' leaves it off PATH; 'hang' never answers. */
  readonly agent?: number | 'missing' | 'hang';
  /** Run `node dist/index.js` with these arguments instead of the hook. */
  readonly cliArgs?: string[];
  /** What the stand-in agent's `oidc request-token` does: print a JWT for the audience (default), or fail as an old agent would. */
  readonly oidc?: 'mint' | 'fail' | 'hang';
  /** The directory the step runs in (the build's checkout); a fresh empty one by default. */
  readonly cwd?: string;
  /** Called once the process is started, e.g. to send it a signal. */
  readonly onStart?: (child: ChildProcess) => void;
}

/** bash by absolute path: some tests give the hook a PATH without it. */
const BASH = existsSync('/bin/bash') ? '/bin/bash' : 'bash';

export const BUILD_ID = '0190a3b2-6c1f-7c3e-9a4b-2f1d5e8c7a60';
export const TOKEN = 'bkua_0123456789abcdef0123456789abcdef01234567';
export const RUN_ID = '64374307-12ab-4b13-a3f3-6a408f644ea2';
export const BUILD_NUMBER = 42;
/** The gate's own job ($BUILDKITE_JOB_ID): running while the gate runs. */
export const GATE_JOB_ID = '0190a3b2-0000-4000-8000-00000000c0de';

/** Build 42 of pipeline web (BUILD_ID) in the Builds API, with these jobs and the gate's own, running. */
export function fakeBuild(jobs: FakeJob[] = [], extra: Partial<FakeBuild> = {}): FakeBuild {
  return { pipeline: 'web', number: BUILD_NUMBER, id: BUILD_ID, state: 'running', jobs: [...jobs, { id: GATE_JOB_ID, name: 'Test Engine gate', state: 'running' }], ...extra };
}

/** The run of BUILD_ID, moving along `timeline`. */
export function fakeRun(timeline: FakeRun['timeline'], extra: Partial<FakeRun> = {}): FakeRun {
  return { id: RUN_ID, buildId: BUILD_ID, timeline, ...extra };
}

/** A simulated API per test, closed after it: `const api = useFakeApi(); … api.current = await startFakeTestEngine(…)`. */
export function useFakeApi(): { current: FakeTestEngine | undefined } {
  const holder: { current: FakeTestEngine | undefined } = { current: undefined };
  afterEach(async () => {
    await holder.current?.close();
    holder.current = undefined;
  });
  return holder;
}

/** A work directory with a stand-in `buildkite-agent` in bin/ that records each call in calls/. */
function agentStub(agent: RunOptions['agent'], oidc: RunOptions['oidc'] = 'mint'): { work: string; bin: string; calls: () => AgentCall[] } {
  const work = mkdtempSync(join(tmpdir(), 'teg-test-'));
  const calls = join(work, 'calls');
  const bin = join(work, 'bin');
  mkdirSync(calls);
  mkdirSync(bin);
  if (agent !== 'missing') writeStandInAgent(bin, calls, { exit: agent ?? 0, oidc });
  return { work, bin, calls: () => readAgentCalls(calls) };
}

/** The job's environment: the Buildkite variables, the token, the plugin configuration, the stub first on PATH. */
function jobEnv(bin: string, options: RunOptions): Record<string, string> {
  const env: Record<string, string | undefined> = {
    PATH: `${bin}:${process.env.PATH}`,
    HOME: process.env.HOME,
    BUILDKITE: 'true',
    BUILDKITE_ORGANIZATION_SLUG: 'acme',
    BUILDKITE_PIPELINE_SLUG: 'web',
    BUILDKITE_BUILD_ID: BUILD_ID,
    BUILDKITE_BUILD_NUMBER: String(BUILD_NUMBER),
    BUILDKITE_JOB_ID: GATE_JOB_ID,
    BUILDKITE_API_TOKEN: TOKEN,
    ...(options.config ? { BUILDKITE_PLUGIN_CONFIGURATION: JSON.stringify(options.config) } : {}),
    ...options.env,
  };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  return env as Record<string, string>;
}

export async function runPlugin(options: RunOptions = {}): Promise<RunResult> {
  const { work, bin, calls } = agentStub(options.agent, options.oidc);
  const env = jobEnv(bin, options);
  const started = performance.now();
  const child = options.cliArgs
    ? spawn(process.execPath, [BUNDLE, ...options.cliArgs], { cwd: options.cwd ?? work, env: env as NodeJS.ProcessEnv })
    : spawn(BASH, [HOOK], { cwd: options.cwd ?? work, env: env as NodeJS.ProcessEnv });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  options.onStart?.(child);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done) => child.on('close', (c, s) => done([c, s])));
  const ms = performance.now() - started;

  const agentCalls = calls();
  rmSync(work, { recursive: true, force: true });
  return { code, signal, stdout, stderr, agentCalls, ms };
}

/**
 * The same job, but `run()` from src/main.ts in this process with a fake clock: polls, backoff and rate-limit
 * waits take no real time, so fault cases that would wait seconds run in milliseconds. The HTTP is real.
 */
export async function runPluginInProcess(options: RunOptions & { clock?: FakeClock } = {}): Promise<RunResult & { clock: FakeClock }> {
  const { work, bin, calls } = agentStub(options.agent, options.oidc);
  const env = jobEnv(bin, options);
  const clock = options.clock ?? new FakeClock();
  let stdout = '';
  let stderr = '';
  const started = performance.now();
  const code = await run({
    argv: ['--buildkite-plugin'],
    env,
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    clock,
    random: () => 0,
  });
  const agentCalls = calls();
  rmSync(work, { recursive: true, force: true });
  return { code, signal: null, stdout, stderr, agentCalls, ms: performance.now() - started, clock };
}

/** Polls until `check` is true (for waiting on a server-side event in a subprocess test). */
export async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
