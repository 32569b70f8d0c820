/**
 * The GitHub Action host: inputs, outputs, the job summary and inline error annotations through
 * @actions/core, which is handed in (load-actions-core.ts loads it only under GitHub Actions).
 */
import { parseConfig, type Config, type RawValue } from '../config.js';
import { ExitCode } from '../errors.js';
import { exitCodeFor, type SuiteOutcome } from '../gate/outcome.js';
import { optionsFor } from '../options.js';
import { ANNOTATION_BUDGET_BYTES, groupByTest, renderAnnotation } from '../report/render-annotation.js';
import { cleanLine } from '../sanitize.js';
import type { Env, Host } from './host.js';
import type { ActionsCore } from './load-actions-core.js';
import { createLog, type Log } from './log.js';

/** GitHub shows at most 10 error annotations per step; the rest are summed up in one notice. */
const MAX_ERROR_ANNOTATIONS = 10;

export type ActionResult = 'passed' | 'failed' | 'stale' | 'pending' | 'inconclusive' | 'error';

export function actionResult(outcome: SuiteOutcome): ActionResult {
  if (outcome.verdict !== 'inconclusive') return outcome.verdict;
  if (outcome.run?.result === 'stale') return 'stale';
  if (outcome.run?.result === 'pending') return 'pending';
  return 'inconclusive';
}

/** `./spec/models/user_spec.rb:23` or `src/a.test.ts:88:20` → file and line for an inline annotation. */
export function parseLocation(location: string | null | undefined): { file: string; startLine?: number } | undefined {
  if (!location) return undefined;
  const match = /^(.*?):(\d+)(?::\d+)?$/.exec(location.trim());
  const file = (match ? match[1]! : location.trim()).replace(/^\.\//, '');
  if (!file || /[\r\n]/.test(file)) return undefined;
  return match ? { file, startLine: Number(match[2]) } : { file };
}

export class GithubHost implements Host {
  readonly log: Log;
  readonly #env: Env;
  readonly #core: ActionsCore;

  constructor(env: Env, write: (text: string) => void, core: ActionsCore) {
    this.#env = env;
    this.#core = core;
    this.log = createLog(write, 'actions');
  }

  readConfig(): Config {
    const core = this.#core;
    const values: Record<string, RawValue> = {};
    for (const option of optionsFor('github')) {
      const value = core.getInput(option.name);
      if (value !== '') values[option.name] = { value, source: `input "${option.name}"` };
    }
    // Before anything else is printed: the runner masks the token from here on.
    const input = values['api-token']?.value;
    if (typeof input === 'string' && input.trim()) core.setSecret(input.trim());
    const config = parseConfig({ host: 'github', values, env: this.#env });
    if (config.token !== (typeof input === 'string' ? input.trim() : undefined)) core.setSecret(config.token);
    return config;
  }

  async publish(outcomes: readonly SuiteOutcome[], config: Config): Promise<void> {
    const core = this.#core;
    const secrets = [config.token];
    const results = outcomes.map((o) => ({
      suite: o.suite,
      result: actionResult(o),
      state: o.run?.state ?? null,
      runId: o.run?.id ?? null,
      runUrl: o.run?.web_url ?? null,
      failedCount: o.failures?.total ?? null,
      failedCountExact: o.failures?.exact ?? null,
      reason: cleanLine(o.reason, 500, secrets).text,
    }));
    const code = exitCodeFor(outcomes);
    const first = results[0]!;
    const overall: ActionResult =
      results.length === 1 ? first.result : ({ 0: 'passed', 1: 'failed', 2: 'error', 3: 'inconclusive' } as const)[code as 0 | 1 | 2 | 3];
    core.setOutput('result', overall);
    core.setOutput('state', first.state ?? '');
    core.setOutput('run-id', first.runId ?? '');
    core.setOutput('run-url', first.runUrl ?? '');
    core.setOutput('failed-count', String(results.reduce((n, r) => n + (r.failedCount ?? 0), 0)));
    core.setOutput('results', JSON.stringify(results));

    // The step summary is limited to 1 MiB per step: the suites share the annotation budget.
    const budgetBytes = Math.floor(ANNOTATION_BUDGET_BYTES / outcomes.length);
    for (const outcome of outcomes) core.summary.addRaw(renderAnnotation(outcome, { secrets, budgetBytes }), true);
    try {
      await core.summary.write();
    } catch (error) {
      this.log.line(`could not write the job summary (${error instanceof Error ? error.message : String(error)})`);
    }

    this.#annotateFailures(outcomes, secrets);
    if (code !== ExitCode.Passed) {
      core.setFailed(outcomes.filter((o) => o.verdict !== 'passed').map((o) => `${o.suite}: ${results.find((r) => r.suite === o.suite)!.reason}`).join('; '));
    }
  }

  #annotateFailures(outcomes: readonly SuiteOutcome[], secrets: string[]): void {
    const core = this.#core;
    let shown = 0;
    let total = 0;
    for (const outcome of outcomes) {
      total += outcome.failures?.total ?? 0;
      for (const group of groupByTest(outcome.failures?.executions ?? [])) {
        if (shown >= MAX_ERROR_ANNOTATIONS) break;
        const e = group.executions[0]!;
        const location = parseLocation(cleanLine(e.location ?? '', 500, secrets).text);
        const title = cleanLine(e.test_name || 'failed test', 200, secrets).text;
        const reason = cleanLine(e.failure_reason || 'failed', 1000, secrets).text;
        core.error(`${reason}${group.executions.length > 1 ? ` (failed ${group.executions.length}×)` : ''}`, {
          title: `${outcome.suite}: ${title}`,
          ...(location ?? {}),
        });
        shown += group.executions.length;
      }
    }
    if (total > shown) {
      core.notice(`${total - shown} more failed executions: see the job summary and the Test Engine run.`, { title: 'Test Engine gate' });
    }
  }
}
