/**
 * A check run per suite on the pull request's commit (GitHub's Checks API), for the Action given a
 * `github-token`: the verdict as its conclusion, the job summary as its output, the failures as annotations on
 * their files. It is what lets a workflow that runs elsewhere — `repository_dispatch` runs on the default
 * branch — gate a pull request: only a check on the PR's own commit reaches the PR.
 */
import { EnvHttpProxyAgent } from '../api/undici.js';
import { type SuiteOutcome, type Verdict } from '../gate/verdict.js';
import { failureLine, unexcusedFailures } from '../report/failure-summary.js';
import { renderAnnotation } from '../report/render-annotation.js';
import { NO_SOURCE, type SourceContext } from '../report/source.js';
import { cleanLine, cleanText } from '../sanitize.js';
import type { Secrets } from '../secrets.js';
import { failureSpot } from './github-location.js';

/** The Checks API takes at most 50 annotations a request; more go in further updates of the same run. */
export const CHECK_ANNOTATIONS_PER_REQUEST = 50;
/** A check run's `output.summary` is at most 65 535 characters; the rendered summary keeps under it in bytes. */
const CHECK_SUMMARY_BYTES = 60_000;
/** An annotation's message: what GitHub shows at the line, not the whole log. */
const CHECK_MESSAGE_CHARS = 4_000;
const REQUEST_TIMEOUT_MS = 30_000;

const CONCLUSIONS: Readonly<Record<Verdict, string>> = { passed: 'success', failed: 'failure', inconclusive: 'neutral', error: 'action_required' };

export interface CheckRunSettings {
  /** `$GITHUB_API_URL` (https://api.github.com, or a GitHub Enterprise Server's). */
  readonly apiUrl: string;
  /** `owner/repo`, from `$GITHUB_REPOSITORY`. */
  readonly repository: string;
  /** The commit the check belongs on: the `sha` input, `$GITHUB_SHA` by default. */
  readonly sha: string;
  readonly token: string;
}

interface CheckAnnotation {
  path: string;
  start_line: number;
  end_line: number;
  annotation_level: 'failure';
  title: string;
  message: string;
}

/** Creates one check run per suite; never throws: a check that cannot be created is a log line, the verdict stands. */
export async function publishCheckRuns(outcomes: readonly SuiteOutcome[], settings: CheckRunSettings, secrets: Secrets, log: (line: string) => void, source: SourceContext = NO_SOURCE): Promise<void> {
  if (!/^[\w.-]+\/[\w.-]+$/.test(settings.repository)) {
    log(`no check run: $GITHUB_REPOSITORY ("${cleanLine(settings.repository, 100).text}") names no owner/repository`);
    return;
  }
  const dispatcher = new EnvHttpProxyAgent({ headersTimeout: REQUEST_TIMEOUT_MS, bodyTimeout: REQUEST_TIMEOUT_MS });
  try {
    for (const outcome of outcomes) {
      try {
        const url = await publishOne(outcome, settings, secrets, dispatcher, source);
        log(`${outcome.suite}: check run "${checkName(outcome)}" on ${settings.sha.slice(0, 12)}: ${CONCLUSIONS[outcome.verdict]}${url ? ` (${url})` : ''}`);
      } catch (error) {
        log(`${outcome.suite}: could not create the check run: ${secrets.redact(error instanceof Error ? error.message : String(error))} (the github-token needs the checks: write permission)`);
      }
    }
  } finally {
    await dispatcher.close().catch(() => {});
  }
}

function checkName(outcome: SuiteOutcome): string {
  return `Test Engine: ${outcome.suite}`;
}

async function publishOne(outcome: SuiteOutcome, settings: CheckRunSettings, secrets: Secrets, dispatcher: EnvHttpProxyAgent, source: SourceContext): Promise<string | undefined> {
  const annotations = checkAnnotations(outcome, secrets, source);
  const output = (batch: CheckAnnotation[]) => ({
    title: cleanLine(`${outcome.suite} ${outcome.verdict}: ${outcome.reason}`, 200, secrets).text,
    summary: renderAnnotation(outcome, { secrets, budgetBytes: CHECK_SUMMARY_BYTES, source }),
    annotations: batch,
  });
  const base = `${settings.apiUrl.replace(/\/+$/, '')}/repos/${settings.repository}/check-runs`;
  const created = await call(dispatcher, 'POST', base, settings.token, {
    name: checkName(outcome),
    head_sha: settings.sha,
    status: 'completed',
    conclusion: CONCLUSIONS[outcome.verdict],
    ...(outcome.run?.web_url ? { details_url: outcome.run.web_url } : {}),
    output: output(annotations.slice(0, CHECK_ANNOTATIONS_PER_REQUEST)),
  });
  const id = (created as { id?: unknown }).id;
  for (let from = CHECK_ANNOTATIONS_PER_REQUEST; from < annotations.length && id !== undefined; from += CHECK_ANNOTATIONS_PER_REQUEST) {
    await call(dispatcher, 'PATCH', `${base}/${String(id)}`, settings.token, { output: output(annotations.slice(from, from + CHECK_ANNOTATIONS_PER_REQUEST)) });
  }
  const html = (created as { html_url?: unknown }).html_url;
  return typeof html === 'string' ? cleanLine(html, 300).text : undefined;
}

/** The unexcused failures read, one annotation per test, on its file (a location without a file gets none). */
function checkAnnotations(outcome: SuiteOutcome, secrets: Secrets, source: SourceContext): CheckAnnotation[] {
  if (outcome.verdict !== 'failed') return [];
  return (unexcusedFailures(outcome)?.groups ?? []).flatMap((group) => {
    const first = group.executions[0]!;
    const { name } = failureLine(first, secrets);
    const where = failureSpot(first, source, secrets);
    if (!where) return [];
    const reason = cleanText(first.failure_reason || 'failed', CHECK_MESSAGE_CHARS, secrets);
    const line = where.startLine ?? 1;
    return [
      {
        path: where.file,
        start_line: line,
        end_line: line,
        annotation_level: 'failure' as const,
        title: cleanLine(`${outcome.suite}: ${name}`, 255, secrets).text,
        message: reason.text.trimEnd() + (reason.omitted ? '\n…' : '') + (group.executions.length > 1 ? ` (failed ${group.executions.length}×)` : ''),
      },
    ];
  });
}

async function call(dispatcher: EnvHttpProxyAgent, method: 'POST' | 'PATCH', url: string, token: string, body: unknown): Promise<unknown> {
  const { origin, pathname, search } = new URL(url);
  const response = await dispatcher.request({
    origin,
    path: pathname + search,
    method,
    headers: {
      authorization: `Bearer ${token}`,
      accept: 'application/vnd.github+json',
      'content-type': 'application/json',
      'user-agent': 'test-engine-gate',
      'x-github-api-version': '2022-11-28',
    },
    body: JSON.stringify(body),
  });
  const text = await response.body.text();
  if (response.statusCode < 200 || response.statusCode >= 300) {
    let message = '';
    try {
      message = String((JSON.parse(text) as { message?: unknown }).message ?? '');
    } catch {
      // not JSON: the status says enough
    }
    throw new Error(`${method} ${pathname} answered ${response.statusCode}${message ? `: ${cleanLine(message, 200).text}` : ''}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}
