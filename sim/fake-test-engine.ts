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
  [extra: string]: unknown;
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
  /** Passed executions per test id, where they are known (runs made of uploads). */
  readonly passedExecutions?: Readonly<Record<string, number>>;
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
  | { kind: 'hang' };

export interface Fault {
  /** Requests whose path+query match this are faulted. */
  readonly match: RegExp;
  /** How many matching requests to fault (default: every one). */
  times?: number;
  readonly fault: FaultKind;
}

export interface RateLimitSettings {
  /** Requests a window per organization (the API's is 200) and per token (50). */
  readonly orgLimit: number;
  readonly userLimit: number;
  readonly windowMs: number;
}

export interface FakeApiOptions {
  readonly org: string;
  readonly token: string;
  /** More API tokens accepted alongside `token` (several gates on several tokens of one organization). */
  readonly moreTokens?: readonly string[];
  readonly suites: readonly FakeSuite[];
  readonly rateLimit?: RateLimitSettings;
  readonly faults?: Fault[];
  /** Every request with the right token answers 403, as for a token without read_suites. */
  readonly forbidden?: boolean;
  /** Pagination links without `last`, as some list endpoints send. */
  readonly omitLastLink?: boolean;
  /** Milliseconds before each answer, for a realistic round trip. */
  readonly latencyMs?: number;
  /** Awaited before each request is handled, instead of `latencyMs`: a round trip on a virtual clock. */
  readonly delay?: () => Promise<void>;
  /**
   * Agent OIDC tokens (issuer https://agent.buildkite.com) are accepted for a suite's endpoints when their
   * audience is that suite's API URL. A token answers 401 after `expireAfterRequests` uses (0: never
   * accepted, as without a suite policy); organization-level endpoints answer `refuseOrgLevel` to a token.
   */
  readonly oidc?: { readonly expireAfterRequests?: number; readonly refuseOrgLevel?: 401 | 403 };
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
  labels: string[];
  executions_count_by_result: { passed: number; failed: number };
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

    const fault = faults.find((f) => f.match.test(url.pathname + url.search) && (f.times === undefined || f.times > 0));
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
      const user = tick(`user:${req.headers.authorization ?? ''}`, userLimit);
      headers['ratelimit-limit'] = String(orgLimit);
      headers['ratelimit-remaining'] = String(org.remaining);
      headers['ratelimit-reset'] = String(org.reset);
      headers['ratelimit-user-limit'] = String(userLimit);
      headers['ratelimit-user-remaining'] = String(user.remaining);
      headers['ratelimit-user-reset'] = String(user.reset);
      const over = user.over ? { scope: 'user', ...user } : org.over ? { scope: 'organization', ...org } : undefined;
      if (over) {
        rateLimited++;
        return send(429, { message: 'You have exceeded your rate limit. Please wait before retrying.', scope: over.scope, limit: over.limit, current: over.count, reset: over.reset });
      }
    }

    const refused = authorize(req.headers.authorization, url.pathname, `http://${req.headers.host}`);
    if (refused) return send(refused[0], { message: refused[1] });
    if (options.forbidden) return send(403, { message: 'Your access token does not have the read_suites scope.' });

    const buildTests = /^\/v2\/analytics\/organizations\/([^/]+)\/builds\/([^/]+)\/tests$/.exec(url.pathname);
    if (buildTests) {
      if (decodeURIComponent(buildTests[1]!) !== options.org) return send(404, { message: 'Not Found' });
      const apiBase = `http://${req.headers.host}/v2/analytics/organizations/${options.org}`;
      const tests = buildTestsOf(decodeURIComponent(buildTests[2]!), url.searchParams.get('state') === 'muted', apiBase);
      return paginate(url, `${apiBase}/builds/${buildTests[2]}/tests`, tests.items, tests.count, (_, i) => tests.at(i as number), send);
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
    run.add(upload.results);
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
    if (authorization === `Bearer ${options.token}` || options.moreTokens?.some((t) => authorization === `Bearer ${t}`)) return undefined;
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
      const audience = `${origin}/v2/analytics/organizations/${suite[1]}/suites/${suite[2]}`;
      return claims.aud === audience ? undefined : [401, `The OIDC token's audience is not ${audience}.`];
    }
    if (options.oidc?.refuseOrgLevel) return [options.oidc.refuseOrgLevel, 'OIDC tokens are not accepted for organization-level endpoints.'];
    return undefined;
  }

  /**
   * The Build tests of a build: every suite's tests with a failed execution in its runs of this build, with
   * `executions_count_by_result` counted from the failed executions served and `passedOnRetry`. Generated
   * failures (a count) are one test each, made only when their page is read.
   */
  function buildTestsOf(buildId: string, mutedOnly: boolean, apiBase: string): { items: number; count: number; at: (i: number) => BuildTestJson } {
    const parts: { count: number; at: (i: number) => BuildTestJson }[] = [];
    for (const suite of options.suites) {
      const muted = new Set(suite.muted ?? []);
      const mutedNames = new Set(suite.mutedNames ?? []);
      const test = (id: string, name: string, location: string | null | undefined, failed: number, passedOnRetry: boolean): BuildTestJson => ({
        id,
        url: `${apiBase}/suites/${suite.slug}/tests/${id}`,
        web_url: `https://buildkite.com/organizations/${options.org}/analytics/suites/${suite.slug}/tests/${id}`,
        scope: '',
        name,
        location: location ?? null,
        labels: [],
        executions_count_by_result: { passed: passedOnRetry ? 1 : 0, failed },
      });
      for (const run of runsOf(suite).filter((r) => r.buildId === buildId)) {
        const passed = run.passedExecutions;
        const retried = (id: string) => (passed?.[id] ?? 0) > 0 || run.passedOnRetry === 'all' || (run.passedOnRetry ?? []).includes(id);
        const failures = run.failures ?? 0;
        if (typeof failures === 'number') {
          if (mutedOnly) continue; // generated tests are never muted
          parts.push({
            count: failures,
            at: (i) => {
              const f = generatedFailure(suite.slug, options.org, run.id, i);
              return test(f.test_id!, f.test_name!, f.location, 1, retried(f.test_id!));
            },
          });
          continue;
        }
        const byTest = new Map<string, { first: FakeFailure; failed: number }>();
        for (const f of failures) {
          if (!f.test_id) continue;
          const entry = byTest.get(f.test_id) ?? { first: f, failed: 0 };
          entry.failed++;
          byTest.set(f.test_id, entry);
        }
        const isMuted = (id: string, name: string) => muted.has(id) || mutedNames.has(name) || [...mutedNames].some((n) => name.endsWith(` ${n}`));
        const tests = [...byTest.entries()]
          .filter(([id, { first }]) => !mutedOnly || isMuted(id, first.test_name ?? ''))
          .map(([id, { first, failed }]) => ({ ...test(id, first.test_name ?? '', first.location, failed, retried(id)), ...(passed ? { executions_count_by_result: { passed: passed[id] ?? 0, failed } } : {}) }));
        parts.push({ count: tests.length, at: (i) => tests[i]! });
      }
    }
    const count = parts.reduce((n, p) => n + p.count, 0);
    return {
      items: count,
      count,
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
    const perPage = Math.min(MAX_PER_PAGE, Math.max(1, Number(url.searchParams.get('per_page') ?? 30) || 30));
    const page = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
    const lastPage = Math.max(1, Math.ceil(count / perPage));
    const start = (page - 1) * perPage;
    const body: unknown[] = [];
    for (let i = start; i < Math.min(count, start + perPage); i++) body.push(toJson(typeof items === 'number' ? i : items[i]!, i));
    const link = (p: number) => {
      const u = new URL(base);
      for (const [k, v] of url.searchParams) if (k !== 'page') u.searchParams.set(k, v);
      u.searchParams.set('page', String(p));
      return u.href;
    };
    const links = [];
    if (page < lastPage) links.push(`<${link(page + 1)}>; rel="next"`);
    if (page > 1) links.push(`<${link(page - 1)}>; rel="prev"`);
    links.push(`<${link(1)}>; rel="first"`);
    if (!options.omitLastLink) links.push(`<${link(lastPage)}>; rel="last"`);
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
