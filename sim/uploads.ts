/**
 * The upload side of the simulated Test Engine (SPEC.md "The simulated Test Engine"): what Buildkite's
 * collectors post to `/v1/uploads` — JSON from the buildkite-test-collector npm package's reporters, and
 * multipart JUnit or JSON from the test-collector plugin's curl — checked the way Test Engine answers it,
 * and turned into runs whose state and result move as their uploads are processed.
 */
import { createHash } from 'node:crypto';
import { XMLParser } from 'fast-xml-parser';
import type { FakeFailure, FakeRun, RunResult, RunState, TestExecution } from './fake-test-engine.js';

export type ResultKind = 'passed' | 'failed' | 'skipped' | 'pending';
const RESULTS: readonly string[] = ['passed', 'failed', 'skipped', 'pending'];

/** One test result as uploaded: only `name` and `result` are required. */
export interface UploadedResult {
  readonly scope: string;
  readonly name: string;
  readonly location: string | null;
  readonly result: ResultKind;
  readonly failure_reason: string;
  readonly failure_expanded: readonly { expanded?: string[]; backtrace?: string[] }[];
  readonly duration: number | null;
}

export interface Upload {
  readonly runEnv: Readonly<Record<string, string>>;
  readonly results: readonly UploadedResult[];
}

/** A refused upload: the reasons Test Engine would give in `{"errors": […]}`. */
export class UploadError extends Error {
  constructor(readonly errors: readonly string[]) {
    super(errors.join('; '));
  }
}

const asObject = (v: unknown): Record<string, unknown> | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
const asString = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);

/** The results of a JSON upload's `data`, or every reason it is refused. */
export function resultsFromJson(data: unknown): UploadedResult[] {
  if (!Array.isArray(data)) throw new UploadError(['data must be an array of test results']);
  const errors: string[] = [];
  const results = data.flatMap((item, i): UploadedResult[] => {
    const r = asObject(item);
    if (!r) return errors.push(`data[${i}] is not an object`), [];
    const name = asString(r.name);
    if (!name) errors.push(`data[${i}].name is missing`);
    if (typeof r.result !== 'string' || !RESULTS.includes(r.result)) errors.push(`data[${i}].result must be one of ${RESULTS.join(', ')} (got ${JSON.stringify(r.result ?? null)})`);
    if (!name || typeof r.result !== 'string' || !RESULTS.includes(r.result)) return [];
    const expanded = Array.isArray(r.failure_expanded) ? r.failure_expanded.map(asObject).filter((e) => e !== undefined) : [];
    const history = asObject(r.history);
    const duration = typeof history?.duration === 'number' && Number.isFinite(history.duration) ? history.duration : null;
    return [
      {
        scope: asString(r.scope) ?? '',
        name,
        location: asString(r.location) ?? null,
        result: r.result as ResultKind,
        failure_reason: asString(r.failure_reason) ?? '',
        failure_expanded: expanded.map((e) => ({
          ...(Array.isArray(e.expanded) ? { expanded: e.expanded.map(String) } : {}),
          ...(Array.isArray(e.backtrace) ? { backtrace: e.backtrace.map(String) } : {}),
        })),
        duration,
      },
    ];
  });
  if (errors.length) throw new UploadError(errors);
  return results;
}

/** A JSON upload body (`{"format": "json", "run_env": {…}, "data": […]}`), as the npm collector posts it. */
export function parseJsonUpload(text: string): Upload {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new UploadError(['the body is not JSON']);
  }
  const object = asObject(body);
  if (!object) throw new UploadError(['the body must be a JSON object']);
  const runEnv = runEnvOf(asObject(object.run_env) ?? {});
  return { runEnv, results: resultsFromJson(object.data) };
}

/** A multipart upload (`format=junit|json`, `data=@file`, `run_env[key]=…`), as the test-collector plugin sends it with curl. */
export async function parseMultipartUpload(body: Buffer, contentType: string): Promise<Upload> {
  let form: FormData;
  try {
    form = await new Request('http://sim/v1/uploads', { method: 'POST', headers: { 'content-type': contentType }, body }).formData();
  } catch {
    throw new UploadError(['the body is not valid multipart form data']);
  }
  const fields: Record<string, unknown> = {};
  for (const [key, value] of form) {
    const match = /^run_env\[(.+)\]$/.exec(key);
    if (match && typeof value === 'string') fields[match[1]!] = value;
  }
  const format = form.get('format');
  const data = form.get('data');
  if (format !== 'junit' && format !== 'json') throw new UploadError([`format must be junit or json (got ${JSON.stringify(format)})`]);
  if (data === null) throw new UploadError(['data is missing: send the results file as data=@file']);
  const text = typeof data === 'string' ? data : await data.text();
  const runEnv = runEnvOf(fields);
  if (format === 'junit') return { runEnv, results: resultsFromJunit(text) };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UploadError(['data is not JSON']);
  }
  return { runEnv, results: resultsFromJson(parsed) };
}

/** `run_env` with `key` required; `ci` may come as `CI` from the plugin's curl. */
function runEnvOf(raw: Record<string, unknown>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    const value = asString(v);
    if (value !== undefined) env[k === 'CI' ? 'ci' : k] = value;
  }
  if (!env.key) throw new UploadError(['run_env.key is missing: it names the build (BUILDKITE_BUILD_ID)']);
  return env;
}

/** JUnit XML: `<testcase>`s with `<failure>`/`<error>` failed, `<skipped>` skipped; entities decoded by the parser. */
export function resultsFromJunit(xml: string): UploadedResult[] {
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', textNodeName: '#text', isArray: (name) => ['testsuite', 'testcase', 'failure', 'error'].includes(name) });
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(xml, true) as Record<string, unknown>;
  } catch (error) {
    throw new UploadError([`data is not valid JUnit XML: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`]);
  }
  const suites: Record<string, unknown>[] = [];
  const collect = (node: unknown) => {
    for (const s of (asObject(node)?.testsuite as unknown[] | undefined) ?? []) {
      const suite = asObject(s);
      if (!suite) continue;
      suites.push(suite);
      collect(suite);
    }
  };
  collect(doc.testsuites ?? doc);
  if (suites.length === 0) throw new UploadError(['data has no <testsuite> element']);
  const text = (node: unknown) => {
    const o = asObject(node);
    return [asString(o?.message), asString(o?.['#text']) ?? (typeof node === 'string' ? node : undefined)].filter(Boolean) as string[];
  };
  return suites.flatMap((suite) =>
    ((suite.testcase as unknown[] | undefined) ?? []).flatMap((c): UploadedResult[] => {
      const testcase = asObject(c);
      const name = asString(testcase?.name);
      if (!testcase || !name) return [];
      const problems = [...((testcase.failure as unknown[] | undefined) ?? []), ...((testcase.error as unknown[] | undefined) ?? [])];
      const file = asString(testcase.file);
      const line = asString(testcase.line);
      const [reason = '', ...rest] = problems.flatMap(text).join('\n').split('\n');
      const time = Number(testcase.time);
      return [
        {
          scope: asString(testcase.classname) ?? asString(suite.name) ?? '',
          name,
          location: file ? (line ? `${file}:${line}` : file) : null,
          result: problems.length ? 'failed' : 'skipped' in testcase ? 'skipped' : 'passed',
          failure_reason: problems.length ? reason : '',
          failure_expanded: problems.length && rest.length ? [{ expanded: rest }] : [],
          duration: Number.isFinite(time) ? time : null,
        },
      ];
    }),
  );
}

/** A UUID derived from its parts: the same parts give the same id in every run of the sim. */
function stableId(...parts: string[]): string {
  const hex = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** A test is the same test by suite, scope, name and location: its id is derived from them, as stable as Test Engine's. */
export function testIdOf(suite: string, r: { scope: string; name: string; location: string | null }): string {
  return stableId(suite, r.scope, r.name, r.location ?? '');
}

interface Execution extends UploadedResult {
  readonly executionId: string;
  readonly testId: string;
  /** The job that uploaded it (`run_env.job_id`): Test Engine tags the execution with `build.job_id`. */
  readonly jobId: string | undefined;
  /** When its upload is processed (ms on the server's clock). */
  readonly processedAt: number;
}

/**
 * A run made of uploads: `running` until every upload is processed, then `finished`; a later upload sends it
 * back to `running`. `result` follows the seeds: `failed` once a processed result failed (and never away from
 * it), else `passed` once one passed, else `pending` — and `stale` once a finished run had no result for
 * `staleAfterMs`. It is a FakeRun, so the simulated API serves it like any other.
 */
export class UploadedRun implements FakeRun {
  readonly id: string;
  readonly #executions: Execution[] = [];
  readonly #lastUpload: { at: number };

  constructor(
    readonly suite: string,
    readonly buildId: string,
    readonly org: string,
    readonly commitSha: string | undefined,
    readonly processingMs: number,
    readonly staleAfterMs: number,
    readonly now: () => number,
  ) {
    this.id = stableId('run', suite, buildId);
    this.#lastUpload = { at: now() };
  }

  add(results: readonly UploadedResult[], jobId?: string): void {
    const processedAt = this.now() + this.processingMs;
    this.#lastUpload.at = processedAt;
    for (const r of results) {
      this.#executions.push({ ...r, executionId: stableId('execution', this.id, String(this.#executions.length)), testId: testIdOf(this.suite, r), jobId, processedAt });
    }
  }

  #processed(): Execution[] {
    const now = this.now();
    return this.#executions.filter((e) => e.processedAt <= now);
  }

  get #state(): [RunState, RunResult] {
    const now = this.now();
    const processed = this.#processed();
    const state: RunState = processed.length < this.#executions.length || this.#lastUpload.at > now ? 'running' : 'finished';
    if (processed.some((e) => e.result === 'failed')) return [state, 'failed'];
    if (processed.some((e) => e.result === 'passed')) return [state, 'passed'];
    return [state, state === 'finished' && now - this.#lastUpload.at > this.staleAfterMs ? 'stale' : 'pending'];
  }

  get timeline(): readonly (readonly [RunState, RunResult])[] {
    return [this.#state];
  }

  get failures(): FakeFailure[] {
    const base = `https://buildkite.com/organizations/${this.org}/analytics/suites/${this.suite}`;
    return this.#processed()
      .filter((e) => e.result === 'failed')
      .map((e) => ({
        execution_id: e.executionId,
        run_id: this.id,
        test_id: e.testId,
        test_name: [e.scope, e.name].filter(Boolean).join(' '),
        location: e.location,
        failure_reason: e.failure_reason,
        failure_expanded: e.failure_expanded.map((x) => ({ expanded: x.expanded ?? [], backtrace: x.backtrace ?? [] })),
        duration: e.duration,
        test_url: `${base}/tests/${e.testId}`,
        test_execution_url: `${base}/tests/${e.testId}?execution_id=${e.executionId}`,
        tags: {},
      }));
  }

  /** Every processed execution that passed or failed, with its test and job, for the Build tests API. */
  get executions(): readonly TestExecution[] {
    return this.#processed()
      .filter((e) => e.result === 'passed' || e.result === 'failed')
      .map((e) => ({ testId: e.testId, name: [e.scope, e.name].filter(Boolean).join(' '), location: e.location, result: e.result as 'passed' | 'failed', jobId: e.jobId }));
  }

  /** How many results (of each kind) have been uploaded, processed or not: for the sim's log. */
  get uploaded(): number {
    return this.#executions.length;
  }
}
