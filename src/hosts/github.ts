/**
 * The GitHub Action host: inputs, outputs, the job summary and inline error annotations through
 * @actions/core, which main.ts imports only under GitHub Actions (the bundle keeps it in its own file,
 * dist/actions-core.cjs, so the Buildkite path never parses it).
 */
import { parseConfig, type Config, type RawValue } from '../config.js';
import { exitCodeFor, worstVerdict, type SuiteOutcome } from '../gate/verdict.js';
import { optionsFor } from '../options.js';
import { failureLine, unexcusedFailures } from '../report/failure-summary.js';
import { ANNOTATION_MAX_BYTES, GITHUB_MESSAGE_CHARS, MAX_GITHUB_ERRORS, annotationBudget } from '../report/budget.js';
import { renderAnnotation, renderConfigError } from '../report/render-annotation.js';
import { NO_SOURCE, type SourceContext } from '../report/source.js';
import { cleanLine, cleanText, withoutWorkflowCommands } from '../sanitize.js';
import type { Secrets } from '../secrets.js';
import type { Env, Host } from './host.js';
import { publishCheckRuns, type CheckRunSettings } from './github-checks.js';
import { failureSpot } from './github-location.js';
import { createLog, type Log } from './log.js';

export type ActionsCore = typeof import('@actions/core');


export type ActionResult = 'passed' | 'failed' | 'stale' | 'pending' | 'inconclusive' | 'error';

/** The `result` output: the verdict, with an inconclusive run's own result where it says more. */
export function actionResult(outcome: SuiteOutcome): ActionResult {
  if (outcome.verdict !== 'inconclusive') return outcome.verdict;
  if (outcome.run?.result === 'stale') return 'stale';
  if (outcome.run?.result === 'pending') return 'pending';
  return 'inconclusive';
}

/** The per-suite entry of the `results` output (SPEC.md step 8). */
export function resultEntry(o: SuiteOutcome, secrets: Secrets) {
  return {
    suite: o.suite,
    result: actionResult(o),
    state: o.run?.state ?? null,
    runId: o.run?.id ?? null,
    runUrl: o.run?.web_url ?? null,
    failedCount: o.failures?.total ?? null,
    failedCountExact: o.failures?.exact ?? null,
    flakyCount: o.excuses?.flaky.length ?? 0,
    mutedCount: o.excuses?.muted.length ?? 0,
    excused: o.verdict === 'passed' && o.run?.result === 'failed',
    reason: cleanLine(o.reason, 500, secrets).text,
  };
}

export class GithubHost implements Host {
  readonly log: Log;
  readonly #env: Env;
  readonly #core: ActionsCore;
  readonly #secrets: Secrets;

  constructor(env: Env, write: (text: string) => void, core: ActionsCore, secrets: Secrets) {
    this.#env = env;
    this.#core = core;
    this.#secrets = secrets;
    this.log = createLog(write, 'actions', secrets);
  }

  readConfig(): Config {
    const core = this.#core;
    const values: Record<string, RawValue> = {};
    for (const option of optionsFor('github')) {
      const value = core.getInput(option.name);
      if (value !== '') values[option.name] = { value, source: `input "${option.name}"` };
    }
    // Before anything else is printed: the runner masks the tokens from here on.
    const input = values['api-token']?.value;
    if (typeof input === 'string' && input.trim()) core.setSecret(input.trim());
    const githubToken = values['github-token']?.value;
    if (typeof githubToken === 'string' && githubToken.trim()) {
      core.setSecret(githubToken.trim());
      this.#secrets.add(githubToken.trim());
    }
    const config = parseConfig({ host: 'github', values, env: this.#env });
    const token = config.token?.token;
    if (token && token !== (typeof input === 'string' ? input.trim() : undefined)) core.setSecret(token);
    this.#secrets.add(token);
    return config;
  }

  async publish(outcomes: readonly SuiteOutcome[], config: Config, source: SourceContext = NO_SOURCE): Promise<void> {
    const core = this.#core;
    const results = outcomes.map((o) => resultEntry(o, this.#secrets));
    const first = results[0]!;
    const sum = (pick: (r: (typeof results)[number]) => number | null) => String(results.reduce((n, r) => n + (pick(r) ?? 0), 0));
    core.setOutput('result', results.length === 1 ? first.result : worstVerdict(outcomes));
    core.setOutput('state', first.state ?? '');
    core.setOutput('run-id', first.runId ?? '');
    core.setOutput('run-url', first.runUrl ?? '');
    core.setOutput('failed-count', sum((r) => r.failedCount));
    core.setOutput('flaky-count', sum((r) => r.flakyCount));
    core.setOutput('muted-count', sum((r) => r.mutedCount));
    core.setOutput('results', JSON.stringify(results));

    // The step summary is limited to 1 MiB per step: the suites share it.
    const budgetBytes = Math.min(annotationBudget(config.maxFailures), Math.floor(ANNOTATION_MAX_BYTES / outcomes.length));
    for (const outcome of outcomes) core.summary.addRaw(renderAnnotation(outcome, { secrets: this.#secrets, budgetBytes, source }), true);
    try {
      await core.summary.write();
    } catch (error) {
      this.log.line(`could not write the job summary (${error instanceof Error ? error.message : String(error)})`);
    }

    if (config.checks) await publishCheckRuns(outcomes, this.#checkSettings(config.checks), this.#secrets, (line) => this.log.line(line), source);

    // The step's own error first: GitHub keeps 10 error annotations a step, and this one must not be the one dropped.
    if (exitCodeFor(outcomes) !== 0) {
      core.setFailed(withoutWorkflowCommands(outcomes.filter((o) => o.verdict !== 'passed').map((o) => `${o.suite}: ${results.find((r) => r.suite === o.suite)!.reason}`).join('; ')));
    }
    this.#annotateFailures(outcomes, exitCodeFor(outcomes) !== 0 ? MAX_GITHUB_ERRORS - 1 : MAX_GITHUB_ERRORS, source);
  }

  #checkSettings(checks: NonNullable<Config['checks']>): CheckRunSettings {
    return { apiUrl: this.#env.GITHUB_API_URL || 'https://api.github.com', repository: this.#env.GITHUB_REPOSITORY ?? '', sha: checks.sha, token: checks.token };
  }

  async reportConfigError(message: string): Promise<void> {
    const core = this.#core;
    core.setOutput('result', 'error');
    core.summary.addRaw(renderConfigError(message, this.#secrets), true);
    try {
      await core.summary.write();
    } catch (error) {
      this.log.line(`could not write the job summary (${error instanceof Error ? error.message : String(error)})`);
    }
  }

  /** One inline annotation per failed test (not per execution), with how often it failed; the rest in one notice. */
  #annotateFailures(outcomes: readonly SuiteOutcome[], budget: number, source: SourceContext): void {
    const core = this.#core;
    let shown = 0;
    let total = 0;
    for (const outcome of outcomes) {
      if (outcome.verdict !== 'failed') continue;
      const unexcused = unexcusedFailures(outcome);
      // Only what nothing excuses: the tests that passed on retry and the muted ones are in the job summary.
      total += unexcused?.groups.length ?? 0;
      for (const group of unexcused?.groups ?? []) {
        if (shown >= budget) break;
        const first = group.executions[0]!;
        const { name } = failureLine(first, this.#secrets);
        // Line breaks are kept: @actions/core sends them as %0A, and snapshot diffs stay readable.
        const reason = cleanText(first.failure_reason || 'failed', GITHUB_MESSAGE_CHARS, this.#secrets);
        const message = reason.text.trimEnd() + (reason.omitted ? '\n…' : '');
        core.error(withoutWorkflowCommands(`${message}${group.executions.length > 1 ? ` (failed ${group.executions.length}×)` : ''}`), {
          title: withoutWorkflowCommands(`${outcome.suite}: ${name}`),
          ...(failureSpot(first, source, this.#secrets) ?? {}),
        });
        shown++;
      }
    }
    if (total > shown) {
      core.notice(`${total - shown} more failed test${total - shown === 1 ? '' : 's'}: see the job summary and the Test Engine run.`, { title: 'Test Engine gate' });
    }
  }
}
