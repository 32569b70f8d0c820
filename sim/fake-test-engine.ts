/**
 * A simulated Buildkite Test Engine API on 127.0.0.1 that behaves like the real one as SPEC.md and the seeds
 * describe it: bearer-token auth, runs filtered by build_id, runs whose state and result move along a
 * timeline, failed executions paginated with Link headers (next/prev/first/last), rate-limit headers on every
 * response and 429s past the limit, JSON error bodies — plus injectable faults. The demo, the tests and the
 * benchmark all run the real gate against it over HTTP.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { UploadError, UploadedRun, parseJsonUpload, parseMultipartUpload, type Upload } from './uploads.js';

export type RunState = 'running' | 'finished';
export type RunResult = 'pending' | 'passed' | 'failed' | 'stale';

export interface FakeFailure {
  execution_id?: string;
  test_id?: string | null;
  test_name?: string | null;
  location?: string | null;
  failure_reason?: string | null;
  failure_expanded?: { expanded?: string[]; backtrace?: string[] }[] | null;
  duration?: number | null;
  /** The job that ran it (`build.job_id`), for the Build tests API's job filter; not served. */
  job_id?: string;
  [extra: string]: unknown;
}

/** One execution as the Build tests API counts it: its test, its result and the job that uploaded it. */
export interface TestExecution {
  readonly testId: string;
  readonly name: string;
  readonly location: string | null | undefined;
  readonly result: 'passed' | 'failed';
  readonly jobId: string | undefined;
}

/** A job of the Builds API, as served. */
export interface FakeJob {
  readonly id: string;
  readonly type?: 'script' | 'waiter' | 'manual' | 'trigger';
  readonly name?: string;
  readonly step_key?: string;
  state: string;
  exit_status?: number | null;
  soft_failed?: boolean;
  retried?: boolean;
  retried_in_job_id?: string | null;
  /** Instead of `state`, by time: each (ms since the server started, state) holds from then on. */
  readonly schedule?: readonly (readonly [number, string])[];
}

/** A build of the Builds API: `GET /v2/organizations/{org}/pipelines/{pipeline}/builds/{number}`. */
export interface FakeBuild {
  readonly pipeline: string;
  readonly number: number;
  /** The build's UUID: runs whose `buildId` is this are its Test Engine runs. */
  readonly id: string;
  state?: string;
  /** Mutable: a test may move a job on between reads. */
  readonly jobs: FakeJob[];
}

export interface FakeRun {
  readonly id: string;
  readonly buildId: string;
  /** (state, result) served by successive reads of the run; the last one repeats. */
  readonly timeline: readonly (readonly [RunState, RunResult])[];
  /** Instead of by reads, by time: each (ms since the server started, state, result) holds from then on. */
  readonly schedule?: readonly (readonly [number, RunState, RunResult])[];
  /** Reads of the build's run list that answer [] before the run appears. */
  readonly hiddenForListReads?: number;
  /** Failed executions: a list, or a count generated on demand (1 000 000 costs nothing until read). */
  readonly failures?: readonly FakeFailure[] | number;
  readonly commitSha?: string;
  /** Test ids of failing tests that also passed in this build (a retry): `passed: 1` in Build tests; 'all' for every one. */
  readonly passedOnRetry?: readonly string[] | 'all';
  /** The job of every failed execution that names none (`job_id`), and of the passes of `passedOnRetry`. */
  readonly jobOfFailures?: string;
  readonly jobOfPasses?: string;
  /** Every execution with its job, where they are known (runs made of uploads): replaces the above. */
  readonly executions?: readonly TestExecution[];
}

export interface FakeSuite {
  readonly slug: string;
  readonly runs: readonly FakeRun[];
  /** Test ids that the suite's test state management has muted. */
  readonly muted?: readonly string[];
  /** Muted by name: a test's name, or its scope and name ("Cart totals applies a discount"). */
  readonly mutedNames?: readonly string[];
  /** The suite's upload token: `POST /v1/uploads` with `Authorization: Token token="…"` adds results to it. */
  readonly uploadToken?: string;
}

export type FaultKind =
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string }
  | { kind: 'body'; body: string; contentType?: string }
  | { kind: 'reset' }
  | { kind: 'reset-mid-body' }
  /** Headers at once, then the body one byte every `everyMs`, for as long as the client listens. */
  | { kind: 'trickle'; everyMs: number }
  | { kind: 'hang' };

export interface Fault {
  /** Requests whose path+query match this are faulted. */
  readonly match: RegExp;
  /** How many matching requests to fault (default: every one). */
  times?: number;
  /** Matching requests to answer normally before the faults begin (default 0). */
  after?: number;
  readonly fault: FaultKind;
}

export interface RateLimitSettings {
  /** Requests a window per organization (the API's is 200) and per user (50, shared by every token of the user). */
  readonly orgLimit: number;
  readonly userLimit: number;
  readonly windowMs: number;
}

export interface FakeApiOptions {
  readonly org: string;
  readonly token: string;
  /** More API tokens accepted alongside `token` (several gates on several tokens of one organization). */
  readonly moreTokens?: readonly string[];
  /** Which user owns each token: the user's rate limit is shared by all of that user's tokens (default: a user per token). */
  readonly tokenOwners?: Readonly<Record<string, string>>;
  readonly suites: readonly FakeSuite[];
  /** Builds of the Builds API; a build not listed answers 404. */
  readonly builds?: readonly FakeBuild[];
  /** False: the API tokens lack `read_builds`, and the Builds API answers 403. */
  readonly readBuilds?: boolean;
  readonly rateLimit?: RateLimitSettings;
  readonly faults?: Fault[];
  /** Every request with the right token answers 403, as for a token without read_suites. */
  readonly forbidden?: boolean;
  /** Pagination links without `last`, as some list endpoints send. */
  readonly omitLastLink?: boolean;
  /** Serve at most this many items a page, whatever `per_page` asks; links name the size served. */
  readonly maxPerPage?: number;
  /**
   * Links with `page` alone, as Buildkite's Go client's fixture writes them: the filters and `per_page` asked for
   * are dropped, and `last` is numbered in the default page size (30) that such a link then reads.
   */
  readonly pageOnlyLinks?: boolean;
  /** Milliseconds before each answer, for a realistic round trip. */
  readonly latencyMs?: number;
  /** Awaited before each request is handled, instead of `latencyMs`: a round trip on a virtual clock. */
  readonly delay?: () => Promise<void>;
  /**
   * Agent OIDC tokens (issuer https://agent.buildkite.com) are accepted for a suite's endpoints when their
   * audience is that suite's API URL (or web URL, as `audience` says); for a suite that does not exist they are
   * refused with 401, as a suite-scoped token is invalid until its suite exists. A token answers 401 after `expireAfterRequests` uses (0: never
   * accepted, as without a suite policy); organization-level endpoints answer `refuseOrgLevel` to a token.
   */
  readonly oidc?: {
    readonly expireAfterRequests?: number;
    readonly refuseOrgLevel?: 401 | 403;
    /** Which audience a suite's endpoints accept: its API URL (default), its web URL, or either. */
    readonly audience?: 'api' | 'web' | 'both';
  };
  /** How long an upload takes to be processed: its run is `running` until then (default 0). */
  readonly processingMs?: number;
  /** A finished run that has had no result for this long becomes `stale` (default 60 s). */
  readonly staleAfterMs?: number;
  /** The clock of schedules, upload processing, rate-limit windows and request times (tests share their fake clock); Date.now by default. */
  readonly now?: () => number;
  /** The port on 127.0.0.1 (default: any free one). */
  readonly port?: number;
}

/** One item of the Build tests API, as served. */
interface BuildTestJson {
  id: string;
  url: string;
  web_url: string;
  scope: string;
  name: string;
  location: string | null;
  file_name: string | null;
  labels: string[];
  reliability: number;
  duration_avg: number;
  duration_sum: number;
  duration_min: number;
  duration_max: number;
  executions_count: number;
  executions_count_by_result: { passed: number; failed: number };
}

/** A Build tests query's filters, from `tags` (`result:~failed`, `result:^failed`, `build.job_id:J`) and `state`. */
interface BuildTestsFilter {
  readonly result?: 'any-failed' | 'all-failed';
  readonly jobId?: string;
  readonly state?: 'muted' | 'enabled';
}

function buildTestsFilter(params: URLSearchParams): BuildTestsFilter {
  const filter: { result?: 'any-failed' | 'all-failed'; jobId?: string; state?: 'muted' | 'enabled' } = {};
  for (const condition of (params.get('tags') ?? '').split(',').filter(Boolean)) {
    const [key, value = ''] = [condition.slice(0, condition.indexOf(':')), condition.slice(condition.indexOf(':') + 1)];
    if (key === 'result' && value === '~failed') filter.result = 'any-failed';
    else if (key === 'result' && value === '^failed') filter.result = 'all-failed';
    else if (key === 'build.job_id') filter.jobId = value;
  }
  const state = params.get('state');
  if (state === 'muted' || state === 'enabled') filter.state = state;
  return filter;
}

export interface RecordedRequest {
  readonly method: string;
  /** Path and query, as sent. */
  readonly url: string;
  readonly status: number;
  readonly authorization: string | undefined;
  readonly at: number;
}

export interface FakeTestEngine {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** The runs made of uploads, per suite. */
  readonly uploadedRuns: (suite: string) => readonly UploadedRun[];
  /** Counts of 429 answers given. */
  readonly rateLimited: () => number;
  close(): Promise<void>;
}

const MAX_PER_PAGE = 100;

export function generatedFailure(suite: string, org: string, runId: string, i: number): FakeFailure {
  const test = `${String(i).padStart(8, '0')}`;
  return {
    execution_id: `e0000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    run_id: runId,
    test_id: `7e570000-0000-4000-8000-${test.padStart(12, '0')}`,
    test_name: `Checkout ${i} applies discount code ${i % 7}`,
    location: `./spec/checkout/discount_${i % 50}_spec.rb:${10 + (i % 90)}`,
    failure_reason: `expected total to eq ${100 - (i % 10)}, got ${100 + (i % 10)}`,
    failure_expanded: [{ expanded: [`Failure/Error: expect(cart.total).to eq(${100 - (i % 10)})`], backtrace: [`./spec/checkout/discount_${i % 50}_spec.rb:${10 + (i % 90)}:in 'block (2 levels)'`, "./spec/spec_helper.rb:40:in 'block (3 levels)'"] }],
    duration: 0.05 + (i % 100) / 100,
    test_execution_url: `https://buildkite.com/organizations/${org}/analytics/suites/${suite}/tests/${test}?execution_id=${i}`,
    tags: {},
  };
}

export async function startFakeTestEngine(options: FakeApiOptions): Promise<FakeTestEngine> {
  const clock = options.now ?? Date.now;
  let startedAt = clock();
  const requests: RecordedRequest[] = [];
  const runReads = new Map<string, number>();
  const listReads = new Map<string, number>();
  const sockets = new Set<Socket>();
  const windows = new Map<string, { start: number; count: number }>();
  let rateLimited = 0;
  const faults = options.faults ?? [];
  const jwtUses = new Map<string, number>();
  const buildReads = new Map<string, number>();
  const uploaded = new Map<string, UploadedRun[]>();
  const runsOf = (suite: FakeSuite): readonly FakeRun[] => [...suite.runs, ...(uploaded.get(suite.slug) ?? [])];
  /** Upload bodies are capped: a collector sends at most 5 000 results a request. */
  const MAX_UPLOAD_BYTES = 64 * 1024 * 1024;

  const server = createServer((req, res) => {
    const respond = () => handle(req, res);
    if (options.delay) void options.delay().then(respond);
    else if (options.latencyMs) setTimeout(respond, options.latencyMs);
    else respond();
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.keepAliveTimeout = 60_000;

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    if (url.pathname === '/v1/uploads') return void receiveUpload(req, res, url);
    const record = (status: number) =>
      requests.push({ method: req.method ?? 'GET', url: url.pathname + url.search, status, authorization: req.headers.authorization, at: clock() });

    const fault = faults.find((f) => f.match.test(url.pathname + url.search) && (f.times === undefined || f.times > 0) && !(f.after && f.after-- > 0));
    if (fault) {
      if (fault.times !== undefined) fault.times--;
      record(fault.fault.kind === 'status' ? fault.fault.status : -1);
      return inject(fault.fault, res);
    }

    const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
    const send = (status: number, body: unknown, extra: Record<string, string> = {}) => {
      record(status);
      res.writeHead(status, { ...headers, ...extra });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };

    // Rate limits: fixed windows per organization and per token, reported on every response.
    if (options.rateLimit) {
      const { orgLimit, userLimit, windowMs } = options.rateLimit;
      const now = clock();
      const tick = (key: string, limit: number) => {
        let w = windows.get(key);
        if (!w || now - w.start >= windowMs) windows.set(key, (w = { start: now, count: 0 }));
        w.count++;
        return { remaining: Math.max(0, limit - w.count), reset: Math.max(1, Math.ceil((w.start + windowMs - now) / 1000)), over: w.count > limit, count: w.count, limit };
      };
      const org = tick('org', orgLimit);
      // Every token of one user shares the user's window.
      const bearer = /^Bearer (.*)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
      const user = tick(`user:${options.tokenOwners?.[bearer] ?? bearer}`, userLimit);
      headers['ratelimit-scope'] = 'rest';
      headers['ratelimit-limit'] = String(orgLimit);
      headers['ratelimit-remaining'] = String(org.remaining);
      headers['ratelimit-reset'] = String(org.reset);
      headers['ratelimit-user-scope'] = 'rest_user';
      headers['ratelimit-user-limit'] = String(userLimit);
      headers['ratelimit-user-remaining'] = String(user.remaining);
      headers['ratelimit-user-reset'] = String(user.reset);
      // While a limit is exhausted, each response says so.
      if (org.remaining === 0) headers['ratelimit-warning'] = 'You have reached the rate limit for this organization.';
      if (user.remaining === 0) headers['ratelimit-user-warning'] = 'You have reached the rate limit for this user.';
      const over = user.over ? { scope: 'rest_user', ...user } : org.over ? { scope: 'rest', ...org } : undefined;
      if (over) {
        rateLimited++;
        return send(429, { message: 'You have exceeded your rate limit. Please wait before retrying.', scope: over.scope, limit: over.limit, current: over.count, reset: over.reset });
      }
    }

    const refused = authorize(req.headers.authorization, url.pathname, `http://${req.headers.host}`);
    if (refused) return send(refused[0], { message: refused[1] });
    if (options.forbidden) return send(403, { message: 'missing required scope: read_suites' });

    const buildPath = /^\/v2\/organizations\/([^/]+)\/pipelines\/([^/]+)\/builds\/(\d+)$/.exec(url.pathname);
    if (buildPath) {
      // The Builds API takes an API access token with read_builds; a suite's OIDC token is no key to it.
      if (!isApiToken(req.headers.authorization)) return send(401, { message: 'Authentication required. Please supply a valid API Access Token.' });
      if (options.readBuilds === false) return send(403, { message: 'missing required scope: read_builds' });
      const build = options.builds?.find((b) => decodeURIComponent(buildPath[1]!) === options.org && b.pipeline === decodeURIComponent(buildPath[2]!) && b.number === Number(buildPath[3]));
      if (!build) return send(404, { message: 'Not Found' });
      return send(200, buildJson(build, url.searchParams.get('include_test_engine') === 'true'));
    }
    const buildTests = /^\/v2\/analytics\/organizations\/([^/]+)\/builds\/([^/]+)\/tests$/.exec(url.pathname);
    if (buildTests) {
      if (decodeURIComponent(buildTests[1]!) !== options.org) return send(404, { message: 'Not Found' });
      const apiBase = `http://${req.headers.host}/v2/analytics/organizations/${options.org}`;
      const tests = buildTestsOf(decodeURIComponent(buildTests[2]!), buildTestsFilter(url.searchParams), apiBase);
      return paginate(url, `${apiBase}/builds/${buildTests[2]}/tests`, tests.count, tests.count, (_, i) => tests.at(i as number), send);
    }
    const match = /^\/v2\/analytics\/organizations\/([^/]+)\/suites\/([^/]+)\/runs(?:\/([^/]+))?(\/failed_executions)?$/.exec(url.pathname);
    const suite = match && decodeURIComponent(match[1]!) === options.org ? options.suites.find((s) => s.slug === decodeURIComponent(match[2]!)) : undefined;
    if (!match || !suite) return send(404, { message: 'Not Found' });
    const base = `http://${req.headers.host}/v2/analytics/organizations/${options.org}/suites/${suite.slug}`;
    const runJson = (run: FakeRun) => {
      const elapsed = clock() - startedAt;
      const scheduled = run.schedule?.filter(([at]) => at <= elapsed).at(-1);
      const step = scheduled ? [scheduled[1], scheduled[2]] : run.timeline[Math.min(runReads.get(run.id) ?? 0, run.timeline.length - 1)]!;
      return {
        id: run.id,
        branch: 'main',
        commit_sha: run.commitSha ?? '1c3214fcceb2c14579a2c3c50cd78f1442fd8936',
        state: step[0],
        result: step[1],
        url: `${base}/runs/${run.id}`,
        web_url: `https://buildkite.com/organizations/${options.org}/analytics/suites/${suite.slug}/runs/${run.id}`,
        build_id: run.buildId,
        created_at: '2026-11-22T05:32:53.228Z',
      };
    };

    const [, , , runId, failedExecutions] = match;
    if (!runId) {
      const buildId = url.searchParams.get('build_id');
      let runs = runsOf(suite);
      if (buildId) {
        const key = `${suite.slug}/${buildId}`;
        const reads = (listReads.get(key) ?? 0) + 1;
        listReads.set(key, reads);
        runs = runs.filter((r) => r.buildId === buildId && reads > (r.hiddenForListReads ?? 0));
      }
      // Reading a run in a list is a read of its state too: the timeline moves on.
      return paginate(url, base + '/runs', [...runs].reverse(), runs.length, (r) => {
        const json = runJson(r as FakeRun);
        runReads.set((r as FakeRun).id, (runReads.get((r as FakeRun).id) ?? 0) + 1);
        return json;
      }, send);
    }
    const run = runsOf(suite).find((r) => r.id === decodeURIComponent(runId));
    if (!run) return send(404, { message: 'Not Found' });
    if (!failedExecutions) {
      const body = runJson(run);
      runReads.set(run.id, (runReads.get(run.id) ?? 0) + 1);
      return send(200, body);
    }
    const failures = run.failures ?? 0;
    const count = typeof failures === 'number' ? failures : failures.length;
    const expand = url.searchParams.get('include_failure_expanded') === 'true';
    return paginate(url, `${base}/runs/${run.id}/failed_executions`, failures, count, (f, i) => {
      const failure = typeof f === 'number' ? generatedFailure(suite.slug, options.org, run.id, i) : { ...f };
      if (!expand) delete failure.failure_expanded;
      delete failure.job_id;
      return failure;
    }, send);
  }

  /** `POST /v1/uploads`: 202 with the run it went to, 401 for an unknown token, 422 with every reason for a malformed body. */
  async function receiveUpload(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const answer = (status: number, body: unknown) => {
      requests.push({ method: req.method ?? 'POST', url: url.pathname, status, authorization: req.headers.authorization, at: clock() });
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'POST') return answer(405, { message: 'POST results to /v1/uploads' });
    const token = /^Token token="?([^"]*)"?$/.exec(req.headers.authorization ?? '')?.[1];
    const suite = options.suites.find((s) => s.uploadToken !== undefined && s.uploadToken === token);
    if (!suite) return answer(401, { message: 'Invalid test suite API token' });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_UPLOAD_BYTES) return answer(413, { errors: [`the body is over ${MAX_UPLOAD_BYTES} bytes`] });
      chunks.push(chunk as Buffer);
    }
    const body = Buffer.concat(chunks);
    const type = req.headers['content-type'] ?? '';
    let upload: Upload;
    try {
      upload = type.startsWith('multipart/form-data') ? await parseMultipartUpload(body, type) : parseJsonUpload(body.toString('utf8'));
    } catch (error) {
      if (error instanceof UploadError) return answer(422, { errors: error.errors });
      throw error;
    }
    const runs = uploaded.get(suite.slug) ?? [];
    uploaded.set(suite.slug, runs);
    let run = runs.find((r) => r.buildId === upload.runEnv.key);
    if (!run) {
      run = new UploadedRun(suite.slug, upload.runEnv.key!, options.org, upload.runEnv.commit_sha, options.processingMs ?? 0, options.staleAfterMs ?? 60_000, clock);
      runs.push(run);
    }
    run.add(upload.results, upload.runEnv.job_id);
    answer(202, {
      id: crypto.randomUUID(),
      run_id: run.id,
      queued: upload.results.length,
      skipped: 0,
      errors: [],
      run_url: `https://buildkite.com/organizations/${options.org}/analytics/suites/${suite.slug}/runs/${run.id}`,
    });
  }

  /** Why a request's Authorization is refused ([status, message]), or undefined when it is accepted. */
  function authorize(authorization: string | undefined, pathname: string, origin: string): [number, string] | undefined {
    if (isApiToken(authorization)) return undefined;
    const unauthenticated: [number, string] = [401, 'Authentication required. Please supply a valid API Access Token.'];
    const jwt = /^Bearer ([\w-]+)\.([\w-]+)\.([\w-]*)$/.exec(authorization ?? '');
    if (!jwt) return unauthenticated;
    let claims: { iss?: unknown; aud?: unknown };
    try {
      claims = JSON.parse(Buffer.from(jwt[2]!, 'base64url').toString('utf8'));
    } catch {
      return unauthenticated;
    }
    if (claims.iss !== 'https://agent.buildkite.com') return [401, 'The token was not issued by https://agent.buildkite.com.'];
    const uses = (jwtUses.get(jwt[0]) ?? 0) + 1;
    jwtUses.set(jwt[0], uses);
    const expireAfter = options.oidc?.expireAfterRequests;
    if (expireAfter !== undefined && uses > expireAfter) return [401, expireAfter === 0 ? 'No OIDC policy of this suite matches the token.' : 'The OIDC token has expired.'];
    const suite = /^\/v2\/analytics\/organizations\/([^/]+)\/suites\/([^/]+)/.exec(pathname);
    if (suite) {
      if (!options.suites.some((s) => s.slug === decodeURIComponent(suite[2]!))) return [401, 'Authentication required. Please supply a valid API Access Token.'];
      const api = `${origin}/v2/analytics/organizations/${suite[1]}/suites/${suite[2]}`;
      const web = `https://buildkite.com/organizations/${suite[1]}/analytics/suites/${suite[2]}`;
      const accepted = { api: [api], web: [web], both: [api, web] }[options.oidc?.audience ?? 'api'];
      return accepted.includes(String(claims.aud)) ? undefined : [401, `The OIDC token's audience is not ${accepted.join(' or ')}.`];
    }
    if (options.oidc?.refuseOrgLevel) return [options.oidc.refuseOrgLevel, 'OIDC tokens are not accepted for organization-level endpoints.'];
    return undefined;
  }

  function isApiToken(authorization: string | undefined): boolean {
    return authorization === `Bearer ${options.token}` || (options.moreTokens ?? []).some((t) => authorization === `Bearer ${t}`);
  }

  /** The build as the Builds API serves it; with `include_test_engine`, every run of its suites, one per suite. */
  function buildJson(build: FakeBuild, withTestEngine: boolean): unknown {
    const reads = (buildReads.get(build.id) ?? 0) + 1;
    buildReads.set(build.id, reads);
    const web = `https://buildkite.com/${options.org}/${build.pipeline}/builds/${build.number}`;
    const runs = options.suites.flatMap((suite) => {
      const run = runsOf(suite).find((r) => r.buildId === build.id && reads > (r.hiddenForListReads ?? 0));
      return run ? [{ id: run.id, suite: { id: `suite-${suite.slug}`, slug: suite.slug } }] : [];
    });
    return {
      id: build.id,
      number: build.number,
      state: build.state ?? 'running',
      web_url: web,
      jobs: build.jobs.map((job) => ({
        id: job.id,
        type: job.type ?? 'script',
        name: job.name ?? job.id,
        step_key: job.step_key ?? null,
        state: job.schedule?.filter(([at]) => at <= clock() - startedAt).at(-1)?.[1] ?? job.state,
        exit_status: job.exit_status ?? null,
        soft_failed: job.soft_failed ?? false,
        retried: job.retried ?? false,
        retried_in_job_id: job.retried_in_job_id ?? null,
        web_url: `${web}#${job.id}`,
      })),
      ...(withTestEngine ? { test_engine: { runs } } : {}),
    };
  }

  /**
   * The Build tests of a build, as the real API filters them: `tags` conditions on the executions
   * (`build.job_id:J` keeps one job's executions; `result:~failed` needs one failed, `result:^failed` needs every
   * one failed) and the test state (`muted` or `enabled`). Counts are of the executions the tags keep.
   * Generated failures (a count) are one test each, made only when their page is read.
   */
  function buildTestsOf(buildId: string, filter: BuildTestsFilter, apiBase: string): { count: number; at: (i: number) => BuildTestJson } {
    const parts: { count: number; at: (i: number) => BuildTestJson }[] = [];
    for (const suite of options.suites) {
      const muted = new Set(suite.muted ?? []);
      const mutedNames = new Set(suite.mutedNames ?? []);
      const isMuted = (id: string, name: string) => muted.has(id) || mutedNames.has(name) || [...mutedNames].some((n) => name.endsWith(` ${n}`));
      const item = (id: string, name: string, location: string | null | undefined, passed: number, failed: number): BuildTestJson => ({
        id,
        url: `${apiBase}/suites/${suite.slug}/tests/${id}`,
        web_url: `https://buildkite.com/organizations/${options.org}/analytics/suites/${suite.slug}/tests/${id}`,
        scope: '',
        name,
        location: location ?? null,
        file_name: location ? location.replace(/:\d+(:\d+)?$/, '') : null,
        labels: [],
        reliability: passed + failed ? Math.round((passed / (passed + failed)) * 100) : 100,
        duration_avg: 0.1,
        duration_sum: 0.1 * (passed + failed),
        duration_min: 0.1,
        duration_max: 0.1,
        executions_count: passed + failed,
        executions_count_by_result: { passed, failed },
      });
      /** The item of a test with these executions, or undefined when the filter leaves it out. */
      const matching = (id: string, name: string, location: string | null | undefined, executions: readonly { result: string; jobId: string | undefined }[]) => {
        if (filter.state && (filter.state === 'muted') !== isMuted(id, name)) return undefined;
        const kept = executions.filter((e) => filter.jobId === undefined || e.jobId === filter.jobId);
        const failed = kept.filter((e) => e.result === 'failed').length;
        const passed = kept.filter((e) => e.result === 'passed').length;
        if (kept.length === 0) return undefined;
        if (filter.result === 'any-failed' && failed === 0) return undefined;
        if (filter.result === 'all-failed' && (failed === 0 || passed > 0)) return undefined;
        return item(id, name, location, passed, failed);
      };
      for (const run of runsOf(suite).filter((r) => r.buildId === buildId)) {
        const failures = run.failures ?? 0;
        const retried = (id: string) => run.passedOnRetry === 'all' || (run.passedOnRetry ?? []).includes(id);
        if (typeof failures === 'number') {
          // Generated tests are never muted, and all alike: test 0 says whether the filter keeps them all.
          const one = (i: number) => {
            const f = generatedFailure(suite.slug, options.org, run.id, i);
            const executions = [{ result: 'failed', jobId: run.jobOfFailures }, ...(retried(f.test_id!) ? [{ result: 'passed', jobId: run.jobOfPasses }] : [])];
            return matching(f.test_id!, f.test_name!, f.location, executions);
          };
          if (Array.isArray(run.passedOnRetry)) {
            const items = Array.from({ length: failures }, (_, i) => one(i)).filter((t) => t !== undefined);
            parts.push({ count: items.length, at: (i) => items[i]! });
          } else if (failures > 0 && one(0)) {
            parts.push({ count: failures, at: (i) => one(i)! });
          }
          continue;
        }
        const byTest = new Map<string, { name: string; location: string | null | undefined; executions: { result: string; jobId: string | undefined }[] }>();
        const add = (e: TestExecution) => {
          const entry = byTest.get(e.testId) ?? { name: e.name, location: e.location, executions: [] };
          entry.executions.push({ result: e.result, jobId: e.jobId });
          byTest.set(e.testId, entry);
        };
        if (run.executions) {
          for (const e of run.executions) add(e);
        } else {
          for (const f of failures) if (f.test_id) add({ testId: f.test_id, name: f.test_name ?? '', location: f.location, result: 'failed', jobId: f.job_id ?? run.jobOfFailures });
          for (const id of byTest.keys()) if (retried(id)) byTest.get(id)!.executions.push({ result: 'passed', jobId: run.jobOfPasses });
        }
        const items = [...byTest.entries()].flatMap(([id, t]) => matching(id, t.name, t.location, t.executions) ?? []);
        parts.push({ count: items.length, at: (i) => items[i]! });
      }
    }
    return {
      count: parts.reduce((n, p) => n + p.count, 0),
      at: (i) => {
        for (const part of parts) {
          if (i < part.count) return part.at(i);
          i -= part.count;
        }
        throw new Error('out of range');
      },
    };
  }

  function paginate<T>(
    url: URL,
    base: string,
    items: readonly T[] | number,
    count: number,
    toJson: (item: T | number, index: number) => unknown,
    send: (status: number, body: unknown, extra?: Record<string, string>) => void,
  ): void {
    const perPage = Math.min(options.maxPerPage ?? MAX_PER_PAGE, Math.max(1, Number(url.searchParams.get('per_page') ?? 30) || 30));
    const page = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
    const lastPage = Math.max(1, Math.ceil(count / perPage));
    const start = (page - 1) * perPage;
    const body: unknown[] = [];
    for (let i = start; i < Math.min(count, start + perPage); i++) body.push(toJson(typeof items === 'number' ? i : items[i]!, i));
    const link = (p: number) => {
      const u = new URL(base);
      if (!options.pageOnlyLinks) {
        for (const [k, v] of url.searchParams) if (k !== 'page') u.searchParams.set(k, v);
        if (url.searchParams.has('per_page')) u.searchParams.set('per_page', String(perPage));
      }
      u.searchParams.set('page', String(p));
      return u.href;
    };
    const links = [];
    if (page < lastPage) links.push(`<${link(page + 1)}>; rel="next"`);
    if (page > 1) links.push(`<${link(page - 1)}>; rel="prev"`);
    links.push(`<${link(1)}>; rel="first"`);
    if (!options.omitLastLink) links.push(`<${link(options.pageOnlyLinks ? Math.max(1, Math.ceil(count / 30)) : lastPage)}>; rel="last"`);
    send(200, body, count > perPage ? { link: links.join(', ') } : {});
  }

  function inject(fault: FaultKind, res: ServerResponse): void {
    switch (fault.kind) {
      case 'status':
        res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
        res.end(fault.body ?? JSON.stringify({ message: `Injected ${fault.status}` }));
        return;
      case 'body':
        res.writeHead(200, { 'content-type': fault.contentType ?? 'application/json' });
        res.end(fault.body);
        return;
      case 'reset':
        res.socket?.destroy();
        return;
      case 'reset-mid-body':
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '4000' });
        res.write('{"id": "partial", "state": "run');
        setTimeout(() => res.socket?.destroy(), 10);
        return;
      case 'trickle': {
        res.writeHead(200, { 'content-type': 'application/json' });
        const body = '[' + ' '.repeat(1_000_000);
        let i = 0;
        const timer = setInterval(() => {
          if (res.destroyed || i >= body.length) return clearInterval(timer);
          res.write(body[i++]!);
        }, fault.everyMs);
        res.on('close', () => clearInterval(timer));
        return;
      }
      case 'hang':
        return; // never answers; closed when the server closes
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  startedAt = clock();
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    uploadedRuns: (suite) => uploaded.get(suite) ?? [],
    rateLimited: () => rateLimited,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
