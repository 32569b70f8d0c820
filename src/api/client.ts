/**
 * The Test Engine API client. One undici dispatcher (keep-alive pool, proxy from the environment, header
 * and body timeouts) with undici's retry interceptor; this file supplies the retry *policy*: what is
 * transient, how long to back off, how long a 429 asks to wait, and never past the caller's deadline.
 */
import { EnvHttpProxyAgent, retryInterceptor, type Dispatcher } from './undici.js';
import type * as z from 'zod/mini';
import { systemClock, formatSeconds, type Clock } from '../clock.js';
import { ApiError, CancelledError, TransientApiError } from '../errors.js';
import { cleanLine } from '../sanitize.js';
import { parseLinkHeader, pageNumberOf, type PageLinks } from './link.js';
import { RateLimitBudget, rateLimitWaitMs, type Headers } from './rate-limit.js';
import { ErrorBody, FailedExecutionList, Run, RunList, describeIssue, type FailedExecution } from './schemas.js';

/** Largest page the API serves. */
const PER_PAGE = 100;
/** How far back a lookup by commit reads: the 300 newest runs of the suite. */
const RECENT_RUN_PAGES = 3;
const RETRY_STATUSES = [429, 500, 502, 503, 504];
/** Network faults and undici's own timeouts: the request never got a complete answer. */
const RETRY_CODES = [
  'ECONNRESET',
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'ENETDOWN',
  'ENETUNREACH',
  'EHOSTDOWN',
  'EHOSTUNREACH',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
];
/** Retries of one request for 5xx and network faults (429 waits as long as the deadline allows). */
const MAX_RETRIES = 5;
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 10_000;
/** A 429 that names a reset of 0 s must still not turn into a tight loop. */
const MIN_RATE_LIMIT_WAIT_MS = 500;

export interface ProxySettings {
  readonly httpProxy?: string | undefined;
  readonly httpsProxy?: string | undefined;
  readonly noProxy?: string | undefined;
}

/** The process's one connection pool. Proxies come from HTTP(S)_PROXY/NO_PROXY, handed over by the host. */
export function createDispatcher(requestTimeoutMs: number, proxy: ProxySettings = {}): Dispatcher {
  return new EnvHttpProxyAgent({
    headersTimeout: requestTimeoutMs,
    bodyTimeout: requestTimeoutMs,
    connectTimeout: Math.min(requestTimeoutMs, 10_000),
    keepAliveTimeout: 30_000,
    ...proxy,
  }).compose(retryInterceptor({ methods: ['GET'], statusCodes: RETRY_STATUSES, errorCodes: RETRY_CODES, throwOnError: false }));
}

export interface ClientOptions {
  readonly apiUrl: string;
  readonly org: string;
  readonly token: string;
  /** Where the token came from (`$BUILDKITE_API_TOKEN`), for the 401/403 messages. */
  readonly tokenSource: string;
  readonly dispatcher: Dispatcher;
  readonly signal: AbortSignal;
  readonly log: (line: string) => void;
  readonly clock?: Clock;
  readonly budget?: RateLimitBudget;
  readonly userAgent?: string;
  readonly random?: () => number;
}

export interface FailurePage {
  /** The first failed executions, at most as many as were asked for. */
  readonly executions: readonly FailedExecution[];
  /** Every failed execution of the run: exact, or a lower bound when the API gave no `last` link. */
  readonly total: number;
  readonly exact: boolean;
  readonly requests: number;
}

interface JsonPage<T> {
  readonly data: T;
  readonly links: PageLinks;
}

export class TestEngineClient {
  readonly budget: RateLimitBudget;
  readonly #options: ClientOptions;
  readonly #clock: Clock;
  readonly #origin: string;
  #requests = 0;

  constructor(options: ClientOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.budget = options.budget ?? new RateLimitBudget();
    this.#origin = new URL(options.apiUrl).origin;
  }

  /** Requests sent so far (retries by the interceptor not counted). */
  get requests(): number {
    return this.#requests;
  }

  suiteUrl(suite: string): string {
    const { apiUrl, org } = this.#options;
    return `${apiUrl}/v2/analytics/organizations/${encodeURIComponent(org)}/suites/${encodeURIComponent(suite)}`;
  }

  /** The runs of one build (newest first). Always filtered by `build_id`: never pages through a suite's runs. */
  async listRunsForBuild(suite: string, buildId: string, deadlineMs: number): Promise<readonly Run[]> {
    const url = `${this.suiteUrl(suite)}/runs?build_id=${encodeURIComponent(buildId)}`;
    return (await this.#getJson(url, RunList, suite, deadlineMs)).data;
  }

  /**
   * Runs of a suite with this commit, newest first, from at most its `RECENT_RUN_PAGES` newest pages: for a
   * host without a build id. Stops at the first page with a match.
   */
  async runsForCommit(suite: string, commit: string, deadlineMs: number): Promise<readonly Run[]> {
    let url: string | undefined = `${this.suiteUrl(suite)}/runs?per_page=${PER_PAGE}`;
    for (let page = 0; url && page < RECENT_RUN_PAGES; page++) {
      const result: JsonPage<Run[]> = await this.#getJson(url, RunList, suite, deadlineMs);
      const matches = result.data.filter((run) => run.commit_sha?.toLowerCase().startsWith(commit));
      if (matches.length) return matches;
      url = result.links.next;
    }
    return [];
  }

  async getRun(suite: string, runId: string, deadlineMs: number): Promise<Run> {
    return (await this.#getJson(`${this.suiteUrl(suite)}/runs/${encodeURIComponent(runId)}`, Run, suite, deadlineMs)).data;
  }

  /**
   * The first `want` failed executions and the exact total, in as few requests as that takes: pages of 100
   * until `want` are read, then the `last` page only to count it — (last − 1) × per_page + items on last.
   */
  async failedExecutions(suite: string, runId: string, want: number, deadlineMs: number): Promise<FailurePage> {
    const before = this.#requests;
    let url: string | undefined =
      `${this.suiteUrl(suite)}/runs/${encodeURIComponent(runId)}/failed_executions?per_page=${PER_PAGE}&include_failure_expanded=true`;
    const executions: FailedExecution[] = [];
    let read = 0;
    let firstPageSize = 0;
    let links: PageLinks = {};
    let page = 0;
    while (url) {
      const result: JsonPage<FailedExecution[]> = await this.#getJson(url, FailedExecutionList, suite, deadlineMs);
      page++;
      if (page === 1) firstPageSize = result.data.length;
      read += result.data.length;
      for (const execution of result.data) if (executions.length < want) executions.push(execution);
      links = result.links;
      if (executions.length >= want || result.data.length === 0) break;
      url = links.next;
    }
    if (!links.next) return { executions, total: read, exact: true, requests: this.#requests - before };

    const lastNumber = links.last ? pageNumberOf(links.last) : undefined;
    if (!links.last || lastNumber === undefined) {
      return { executions, total: read, exact: false, requests: this.#requests - before };
    }
    const last = await this.#getJson(links.last, FailedExecutionList, suite, deadlineMs);
    const perPage = Number(new URL(links.last).searchParams.get('per_page')) || firstPageSize || PER_PAGE;
    return {
      executions,
      total: (lastNumber - 1) * perPage + last.data.length,
      exact: true,
      requests: this.#requests - before,
    };
  }

  /** The path and query of an API URL, for log lines (never the host's credentials: there are none in it). */
  #describe(url: string): string {
    const u = new URL(url);
    return `GET ${u.pathname}${u.search}`;
  }

  async #getJson<S extends z.ZodMiniType>(url: string, schema: S, suite: string, deadlineMs: number): Promise<JsonPage<z.infer<S>>> {
    const what = this.#describe(url);
    if (new URL(url).origin !== this.#origin) {
      // A Link header pointing elsewhere would carry the token to another host.
      throw new ApiError(`refusing ${what} at ${new URL(url).origin}: it is not api-url's origin ${this.#origin}, and the token goes only there`, 0);
    }
    for (;;) {
      try {
        return await this.#getJsonOnce(url, what, schema, suite, deadlineMs);
      } catch (error) {
        // A 429 whose headers named no wait reaches here; its JSON body may (`reset`).
        if (!(error instanceof RateLimitedError)) throw error;
        const now = this.#clock.now();
        const waitMs = error.waitMs === undefined ? undefined : Math.max(error.waitMs, MIN_RATE_LIMIT_WAIT_MS);
        if (waitMs === undefined || now + waitMs > deadlineMs) {
          throw new TransientApiError(`${what} was rate limited (429) and the limit resets only after the timeout`);
        }
        this.#options.log(`${what} rate limited (429, ${error.scope ?? 'unknown'} scope); waiting ${formatSeconds(waitMs)} for the reset`);
        await this.#clock.sleep(waitMs, this.#options.signal);
      }
    }
  }

  async #getJsonOnce<S extends z.ZodMiniType>(url: string, what: string, schema: S, suite: string, deadlineMs: number): Promise<JsonPage<z.infer<S>>> {
    const { signal, token, dispatcher } = this.#options;
    await this.#waitForBudget(deadlineMs);
    this.budget.spend(this.#clock.now());
    this.#requests++;

    let response: Dispatcher.ResponseData<unknown>;
    let text: string;
    try {
      const { origin, pathname, search } = new URL(url);
      response = await dispatcher.request({
        origin,
        path: pathname + search,
        method: 'GET',
        signal,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          'user-agent': this.#options.userAgent ?? 'test-engine-gate',
        },
        // Read per request by undici's retry interceptor: this request's policy, bounded by its deadline.
        retryOptions: { retry: this.#retryPolicy(what, deadlineMs) },
      } as Dispatcher.RequestOptions);
      this.budget.update(response.headers as Headers, this.#clock.now());
      text = await response.body.text();
    } catch (error) {
      if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new CancelledError();
      throw new TransientApiError(`${what} failed: ${networkFault(error)}`, { cause: error });
    }

    const { statusCode } = response;
    if (statusCode >= 200 && statusCode < 300) {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        const type = String(response.headers['content-type'] ?? 'no content type');
        throw new TransientApiError(`unexpected response from ${what}: ${statusCode} with a body that is not JSON (${type}): ${excerpt(text)}`);
      }
      const parsed = schema.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new TransientApiError(`unexpected response from ${what}: ${issue ? describeIssue(issue) : 'wrong shape'} (${excerpt(text)})`);
      }
      const link = response.headers.link;
      return { data: parsed.data, links: parseLinkHeader(Array.isArray(link) ? link.join(', ') : link, url) };
    }
    throw this.#statusError(statusCode, what, text, response.headers as Headers, suite);
  }

  #statusError(status: number, what: string, text: string, headers: Headers, suite: string): Error {
    const { org, tokenSource } = this.#options;
    let apiMessage = '';
    let json: unknown;
    try {
      json = JSON.parse(text);
      const body = ErrorBody.safeParse(json);
      if (body.success && body.data.message) apiMessage = ` The API said: "${excerpt(body.data.message)}".`;
    } catch {
      // not JSON: a proxy's page; the status says enough
    }
    if (status === 429) {
      const scope = json && typeof json === 'object' && 'scope' in json ? String(json.scope) : undefined;
      return new RateLimitedError(rateLimitWaitMs(headers, json, this.#clock.now()), scope);
    }
    switch (true) {
      case status === 401:
        return new ApiError(`${what} was refused (401 Unauthorized): the token in ${tokenSource} is not a valid Buildkite API access token.${apiMessage} Create one with the read_suites scope for organization "${org}" (suite "${suite}") and store it in ${tokenSource}.`, status);
      case status === 403:
        return new ApiError(`${what} was refused (403 Forbidden): the token in ${tokenSource} lacks the read_suites scope or access to organization "${org}" (suite "${suite}").${apiMessage} Give the token the read_suites scope for "${org}".`, status);
      case status === 404:
        return new ApiError(`${what} found nothing (404 Not Found): check org "${org}" and suite-slug "${suite}" (the suite's slug is in its Test Engine URL), and that the token can see them.${apiMessage}`, status);
      case status >= 500:
        return new TransientApiError(`${what} answered ${status} after every retry the timeout allowed.${apiMessage}`);
      case status >= 300 && status < 400: {
        const location = headers.location ? ` to ${String(headers.location).split('?')[0]}` : '';
        return new ApiError(`${what} answered ${status}, a redirect${location}; it is not followed, so the token stays with api-url. Check api-url.`, status);
      }
      default:
        return new ApiError(`${what} answered ${status}.${apiMessage}`, status);
    }
  }

  /** Holds a request back while a rate-limit window is spent, instead of sending it into a 429. */
  async #waitForBudget(deadlineMs: number): Promise<void> {
    for (;;) {
      const now = this.#clock.now();
      const exhausted = this.budget.exhausted(now);
      if (!exhausted) return;
      if (now + exhausted.waitMs > deadlineMs) {
        throw new TransientApiError(`the ${exhausted.scope} rate limit is spent until ${formatSeconds(exhausted.waitMs)} from now, past the timeout`);
      }
      this.#options.log(`rate limit: no ${exhausted.scope} requests left; waiting ${formatSeconds(exhausted.waitMs)} for the window to reset`);
      await this.#clock.sleep(exhausted.waitMs + 50, this.#options.signal);
    }
  }

  /** undici's retry callback: `cb()` to retry, `cb(err)` to give the answer (or the error) to the caller. */
  #retryPolicy(what: string, deadlineMs: number) {
    const clock = this.#clock;
    const { signal, log } = this.#options;
    const random = this.#options.random ?? Math.random;
    return (error: RetryableError, { state }: { state: { counter: number } }, cb: (err?: Error | null) => void) => {
      const status = error.statusCode;
      const now = clock.now();
      if (signal.aborted) return cb(error);
      let delay: number;
      let reason: string;
      if (status === 429) {
        const headers = (error.headers ?? {}) as Headers;
        this.budget.update(headers, now);
        const wait = rateLimitWaitMs(headers, undefined, now);
        if (wait === undefined) return cb(error); // the body may name the reset: the caller reads it
        delay = Math.max(wait, MIN_RATE_LIMIT_WAIT_MS);
        reason = 'rate limited (429)';
      } else if (status !== undefined && RETRY_STATUSES.includes(status)) {
        if (state.counter > MAX_RETRIES) return cb(error);
        delay = backoff(state.counter, random);
        reason = `answered ${status}`;
      } else if (status === undefined && error.code && RETRY_CODES.includes(error.code)) {
        if (state.counter > MAX_RETRIES) return cb(error);
        delay = backoff(state.counter, random);
        reason = `failed: ${networkFault(error)}`;
      } else {
        return cb(error);
      }
      if (now + delay > deadlineMs) return cb(error);
      log(`${what} ${reason}; retrying in ${formatSeconds(delay)}`);
      clock.sleep(delay, signal).then(
        () => {
          this.budget.spend(clock.now()); // a retry is a request too
          cb(null);
        },
        () => cb(error),
      );
    };
  }
}

/** A 429 that undici's retry left to us: the wait its body names, if any. */
class RateLimitedError extends TransientApiError {
  constructor(
    readonly waitMs: number | undefined,
    readonly scope: string | undefined,
  ) {
    super('rate limited (429)');
  }
}

interface RetryableError extends Error {
  statusCode?: number;
  code?: string;
  headers?: Record<string, string | string[] | undefined>;
}

/** Exponential backoff with full jitter: a random delay in [½, 1] × base × 2^(attempt−1), capped. */
function backoff(attempt: number, random: () => number): number {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling * (0.5 + random() / 2));
}

function networkFault(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as RetryableError).code;
  const messages: Record<string, string> = {
    UND_ERR_HEADERS_TIMEOUT: 'no response headers within request-timeout',
    UND_ERR_BODY_TIMEOUT: 'the response body stalled for longer than request-timeout',
    UND_ERR_CONNECT_TIMEOUT: 'could not connect in time',
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset',
    UND_ERR_SOCKET: 'connection closed unexpectedly',
    ENOTFOUND: 'host not found (DNS)',
    EAI_AGAIN: 'DNS lookup failed temporarily',
  };
  const cause = (error as { cause?: unknown }).cause;
  if (code && messages[code]) return messages[code]!;
  if (code === 'UND_ERR_REQ_RETRY' && (error as RetryableError).statusCode) return `answered ${(error as RetryableError).statusCode}: ${error.message}`;
  if (cause instanceof Error && cause !== error) return `${error.message} (${networkFault(cause)})`;
  return code ? `${error.message} (${code})` : error.message;
}

/** A short, single-line excerpt of text from the API, for error messages. */
function excerpt(text: string, max = 120): string {
  // The API's (or a proxy's) text is untrusted like test output: no terminal escapes into the job log.
  const { text: line, omitted } = cleanLine(text, max);
  return omitted ? `${line}…` : line || '(empty)';
}
