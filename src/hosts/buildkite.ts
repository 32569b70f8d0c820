/**
 * The Buildkite plugin host: configuration from the plugin (BUILDKITE_PLUGIN_CONFIGURATION, else the
 * BUILDKITE_PLUGIN_TEST_ENGINE_GATE_* variables), log groups, annotations through `buildkite-agent`.
 */
import { formatSeconds } from '../clock.js';
import { parseConfig, type Config, type RawValue } from '../config.js';
import { CancelledError, ConfigError } from '../errors.js';
import { annotationStyle, shouldReport, type SuiteOutcome } from '../gate/verdict.js';
import { optionsFor } from '../options.js';
import { annotationContext } from '../report/context.js';
import { annotationBudget } from '../report/budget.js';
import { renderAnnotation } from '../report/render-annotation.js';
import { NO_SOURCE, type SourceContext } from '../report/source.js';
import type { MintToken } from '../auth.js';
import type { Secrets } from '../secrets.js';
import type { Env, Host } from './host.js';
import { createLog, type Log } from './log.js';

const PLUGIN_PREFIX = 'BUILDKITE_PLUGIN_TEST_ENGINE_GATE_';
/** buildkite-agent annotate should answer in well under this; past it, the body goes to the log instead. */
const AGENT_TIMEOUT_MS = 30_000;

export function readPluginValues(env: Env): { values: Record<string, RawValue>; unknownKeys: RawValue[] } {
  const names = new Set(optionsFor('buildkite').map((o) => o.name));
  const values: Record<string, RawValue> = {};
  const unknownKeys: RawValue[] = [];
  const json = env.BUILDKITE_PLUGIN_CONFIGURATION;
  if (json !== undefined && json.trim() !== '') {
    let config: unknown;
    try {
      config = JSON.parse(json);
    } catch {
      throw new ConfigError(['BUILDKITE_PLUGIN_CONFIGURATION is not valid JSON; check the plugin block in pipeline.yml.']);
    }
    if (config === null) return { values, unknownKeys };
    if (typeof config !== 'object' || Array.isArray(config)) {
      throw new ConfigError(['The plugin configuration must be a mapping of option names to values, such as { "suite-slug": "web" }.']);
    }
    for (const [key, value] of Object.entries(config)) {
      if (names.has(key)) {
        if (value !== null) values[key] = { value, source: `plugin option "${key}"` };
      } else unknownKeys.push({ value: key, source: 'the plugin configuration' });
    }
    return { values, unknownKeys };
  }

  const lists: Record<string, string[]> = {};
  for (const [variable, value] of Object.entries(env)) {
    if (!variable.startsWith(PLUGIN_PREFIX) || value === undefined) continue;
    const key = variable.slice(PLUGIN_PREFIX.length).toLowerCase().replace(/_/g, '-');
    const item = /^(.+)-(\d+)$/.exec(key);
    if (names.has(key)) values[key] = { value, source: variable };
    else if (item && names.has(item[1]!)) (lists[item[1]!] ??= [])[Number(item[2])] = value;
    else unknownKeys.push({ value: key, source: variable });
  }
  for (const [key, items] of Object.entries(lists)) {
    values[key] = { value: items.filter((v) => v !== undefined), source: `${PLUGIN_PREFIX}${key.toUpperCase().replace(/-/g, '_')}_N` };
  }
  return { values, unknownKeys };
}

export interface AgentResult {
  readonly ok: boolean;
  readonly detail: string;
  /** What it printed, when asked for (`oidc request-token` prints the token). */
  readonly stdout?: string;
}

/** `buildkite-agent oidc request-token` prints a JWT of a few KB; anything longer is not one. */
const MAX_AGENT_STDOUT = 64 * 1024;

/**
 * Runs `buildkite-agent` with `stdin` as its standard input. Never throws: a missing, failing or hung agent is
 * a result. Nothing secret goes into its arguments or its environment beyond what the job already has.
 */
export function runAgent(args: readonly string[], stdin: string, env: Env, timeoutMs = AGENT_TIMEOUT_MS, captureStdout = false, signal?: AbortSignal): Promise<AgentResult> {
  // Loaded on first use: a passing gate, the usual case, never spawns anything.
  const { spawn } = process.getBuiltinModule('node:child_process');
  return new Promise((resolve) => {
    let stderr = '';
    // Not spawn's own `timeout`: its timer outlives a process that failed to start and holds this one open.
    let stdout = '';
    const child = spawn('buildkite-agent', args, { env: env as NodeJS.ProcessEnv, stdio: ['pipe', captureStdout ? 'pipe' : 'ignore', 'pipe'] });
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      if (stdout.length < MAX_AGENT_STDOUT) stdout += chunk;
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs).unref();
    // An interrupt ends the agent with the gate: nothing of it outlives the step.
    const onAbort = () => child.kill('SIGKILL');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('exit', () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      if (stderr.length < 2000) stderr += chunk;
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ ok: false, detail: error.code === 'ENOENT' ? 'buildkite-agent is not on PATH' : error.message });
    });
    child.on('close', (code, killedBy) => {
      if (timedOut) return resolve({ ok: false, detail: `buildkite-agent did not finish within ${formatSeconds(timeoutMs)} and was stopped` });
      if (signal?.aborted) return resolve({ ok: false, detail: 'buildkite-agent was stopped: the gate was interrupted' });
      resolve(
        code === 0
          ? { ok: true, detail: '', ...(captureStdout ? { stdout } : {}) }
          : { ok: false, detail: `buildkite-agent exited ${code ?? killedBy}: ${stderr.trim().split('\n').pop() ?? ''}` },
      );
    });
    child.stdin!.on('error', () => {}); // an agent that exits early closes its stdin; 'close' reports it
    child.stdin!.end(stdin);
  });
}

export class BuildkiteHost implements Host {
  readonly log: Log;
  readonly #env: Env;
  readonly #secrets: Secrets;

  constructor(env: Env, write: (text: string) => void, secrets: Secrets) {
    this.#env = env;
    this.#secrets = secrets;
    this.log = createLog(write, 'buildkite', secrets);
  }

  readConfig(): Config {
    const { values, unknownKeys } = readPluginValues(this.#env);
    const config = parseConfig({ host: 'buildkite', values, unknownKeys, env: this.#env });
    this.#secrets.add(config.token?.token);
    return config;
  }

  /** `buildkite-agent oidc request-token`: the audience and lifetime are its only arguments; the JWT comes on stdout. */
  readonly mintToken: MintToken = async (audience, lifetimeSeconds, signal) => {
    const result = await runAgent(['oidc', 'request-token', '--audience', audience, '--lifetime', String(lifetimeSeconds)], '', this.#env, AGENT_TIMEOUT_MS, true, signal);
    if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new CancelledError();
    if (!result.ok) throw new Error(result.detail);
    return result.stdout ?? '';
  };

  async publish(outcomes: readonly SuiteOutcome[], config: Config, source: SourceContext = NO_SOURCE): Promise<void> {
    if (!config.annotate) return;
    await Promise.all(outcomes.map((outcome) => this.#annotate(outcome, config, outcomes.length > 1, source)));
  }

  async #annotate(outcome: SuiteOutcome, config: Config, several: boolean, source: SourceContext): Promise<void> {
    const context = annotationContext(config.context, outcome.suite, several);
    if (!shouldReport(outcome, config.alwaysAnnotate)) {
      // A retried job that now passes should not keep the failure annotation of its earlier attempt;
      // a first attempt has none to remove, and spares the subprocess.
      if (Number(this.#env.BUILDKITE_RETRY_COUNT ?? 0) > 0) await runAgent(['annotation', 'remove', '--context', context], '', this.#env);
      return;
    }
    const body = renderAnnotation(outcome, { secrets: this.#secrets, budgetBytes: annotationBudget(config.maxFailures), source });
    const style = annotationStyle(outcome);
    const result = await runAgent(['annotate', '--style', style, '--context', context], body, this.#env);
    if (result.ok) {
      this.log.line(`${outcome.suite}: annotated the build (style ${style}, context ${context}, ${Buffer.byteLength(body).toLocaleString('en-US')} bytes)`);
    } else {
      this.log.line(`${outcome.suite}: could not annotate the build (${result.detail}); the annotation follows, and the verdict stands.`);
      this.log.group(`Annotation for ${outcome.suite} (${style})`);
      this.log.line(body);
    }
  }
}
