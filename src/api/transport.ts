/**
 * The transport: every request the gate sends goes through `Transport.getJson`, and this file is the only
 * place that retries. It holds a request back while the rate-limit window is spent, waits out a 429 until the
 * reset it names, retries transient faults (network errors, 5xx, a body that is not the API's JSON) with
 * backoff, renews an expiring credential once on 401, and never waits past the caller's deadline.
 *
 * The loop is ours rather than undici's retry interceptor: the interceptor decides at the response headers,
 * so it can neither read a 429's JSON `reset` nor retry a body that broke off (it resumes with a Range
 * header, which the API does not serve). undici still does the HTTP: pool, keep-alive, proxies, timeouts.
 */
import { EnvHttpProxyAgent, type Dispatcher } from './undici.js';
import type * as z from 'zod/mini';
import { formatSeconds, type Clock } from '../clock.js';
import { ApiError, CancelledError, ContractError, TransientApiError, type DocsLink } from '../errors.js';
import { cleanLine } from '../sanitize.js';
import type { Secrets } from '../secrets.js';
import { parseLinkHeader, type PageLinks } from './link.js';
import { RateLimitBudget, SCOPE_WORDS, rateLimitWaitMs, type Headers } from './rate-limit.js';
import { ErrorBody, describeIssue } from './schemas.js';

/** Network faults and undici's own timeouts: the request never got a complete answer. */
const RETRY_CODES = new Set([
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
]);
/** Retries of one request after a fault or a 5xx; a 429 waits for its reset instead, as often as the deadline allows. */
const MAX_RETRIES = 5;
/** Backoff: 0.5 s, 1 s, 2 s, 4 s, 8 s ceilings (10 s at most), each jittered within [½, 1] of its ceiling. */
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 10_000;
/** The least time one request gets, whatever is left before the deadline. */
const MIN_REQUEST_MS = 1_000;
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
  });
}

/** What a request authenticates with: an API token, or a suite's OIDC token that can be minted afresh. */
export interface Credential {
  /** The `Authorization` header's value. */
  authorization(): Promise<string>;
  /** For 401/403 messages: "the token in $BUILDKITE_API_TOKEN". */
  readonly description: string;
  /** What to do about a 401 or 403, for the message. */
  readonly fix: string;
  /** Where that is explained. */
  readonly docs?: DocsLink;
  /** After a 401: replace the credential; true when the request is worth sending once more. */
  renew?(): Promise<boolean>;
  /** Told when a request with it succeeded. */
  accepted?(): void;
}

/** Whom a request concerns, for the messages of 401/403/404. */
export interface RequestSubject {
  readonly credential: Credential;
  readonly org: string;
  readonly suite?: string;
}

export interface TransportOptions {
  readonly apiUrl: string;
  /**
   * How long one request may take, headers and whole body: undici's body timeout restarts with every chunk, so
   * a body that trickles in would otherwise never time out. Unset, only undici's own timeouts apply.
   */
  readonly requestTimeoutMs?: number;
  readonly dispatcher: Dispatcher;
  readonly signal: AbortSignal;
  readonly log: (line: string) => void;
  readonly clock: Clock;
  readonly secrets: Secrets;
  readonly budget?: RateLimitBudget;
  readonly userAgent?: string;
  /** For the backoff's jitter; tests pass a constant. */
  readonly random?: () => number;
}

export interface JsonPage<T> {
  readonly data: T;
  readonly links: PageLinks;
}

/** One answer, or the fault that kept it from arriving. */
type Answer =
  | { readonly status: number; readonly headers: Headers; readonly text: string }
  | { readonly fault: Error & { code?: string } };

export class Transport {
  readonly budget: RateLimitBudget;
  readonly #options: TransportOptions;
  readonly #origin: string;
  #sent = 0;

  constructor(options: TransportOptions) {
    this.#options = options;
    this.budget = options.budget ?? new RateLimitBudget(options.random);
    this.#origin = new URL(options.apiUrl).origin;
  }

  /** Requests sent so far, retries included. */
  get requests(): number {
    return this.#sent;
  }

  async getJson<S extends z.ZodMiniType>(url: string, schema: S, subject: RequestSubject, deadlineMs: number): Promise<JsonPage<z.infer<S>>> {
    const { clock, signal, log } = this.#options;
    const what = describeRequest(url);
    if (new URL(url).origin !== this.#origin) {
      // A Link header pointing elsewhere would carry the token to another host.
      throw new ApiError(`refusing ${what} at ${new URL(url).origin}: it is not api-url's origin ${this.#origin}, and the token goes only there`, 0);
    }
    let retries = 0;
    let refused = 0;
    let renewed = false;
    for (;;) {
      await this.#waitForBudget(deadlineMs);
      const answer = await this.#send(url, subject.credential, deadlineMs);
      // Each transient case sets how long to wait, what to log, and what to throw when no retry is left.
      let waitMs: number;
      let line: string;
      let failure: TransientApiError;
      if ('fault' in answer) {
        const fault = networkFault(answer.fault);
        failure = new TransientApiError(`${what} failed: ${fault}`, { cause: answer.fault });
        if (!answer.fault.code || !RETRY_CODES.has(answer.fault.code)) throw failure;
        [waitMs, line] = [this.#backoff(++retries), `${what} failed: ${fault}`];
      } else if (answer.status === 429) {
        const body = parseJson(answer.text) as { scope?: unknown; limit?: unknown } | undefined;
        const scope = body && typeof body === 'object' && 'scope' in body ? String(body.scope) : 'unknown';
        // `rest` is the organization's limit, `rest_user` the user's (Buildkite's REST docs and clients).
        const known = scope === 'rest' || scope === 'rest_user' ? scope : undefined;
        if (known && typeof body?.limit === 'number') this.budget.learnLimit(known, body.limit);
        const named = rateLimitWaitMs(answer.headers, body, clock.now());
        // Resume at the reset the response names — no further backoff — in the first half of the new window's
        // turns, ahead of the gates taking their ordinary turn, and earlier each time the request is refused again.
        waitMs = named === undefined ? this.#backoff(++retries) : Math.max(named, MIN_RATE_LIMIT_WAIT_MS) + (known ? this.budget.nextWindowOffsetMs(known, ++refused) : 0);
        line = `${what} rate limited (429, ${known ? `the ${SCOPE_WORDS[known]}'s limit` : `scope ${cleanLine(scope, 40).text}`})`;
        failure = new TransientApiError(`${what} was rate limited (429) and the limit resets only after the timeout`);
      } else if (answer.status >= 500) {
        failure = new TransientApiError(`${what} answered ${answer.status} after every retry the timeout allowed.${apiSaid(answer.text)}`);
        [waitMs, line] = [this.#backoff(++retries), `${what} answered ${answer.status}`];
      } else if (answer.status === 401 && !renewed && subject.credential.renew) {
        renewed = true;
        if (!(await subject.credential.renew())) throw this.#statusError(answer, what, subject);
        log(`${what} answered 401 with ${subject.credential.description}; renewed it, trying once more`);
        continue;
      } else if (answer.status >= 200 && answer.status < 300) {
        subject.credential.accepted?.();
        const parsed = parseBody(answer, schema, what);
        if (parsed instanceof ContractError) throw parsed;
        if (!(parsed instanceof TransientApiError)) return { data: parsed, links: linksOf(answer.headers, url) };
        [waitMs, line, failure] = [this.#backoff(++retries), parsed.message, parsed];
      } else {
        throw this.#statusError(answer, what, subject);
      }
      if (retries > MAX_RETRIES || clock.now() + waitMs > deadlineMs) throw failure;
      log(`${line}; retrying in ${formatSeconds(waitMs)}`);
      await clock.sleep(waitMs, signal).catch(() => {
        throw cancelled(signal);
      });
    }
  }

  async #send(url: string, credential: Credential, deadlineMs: number): Promise<Answer> {
    const { dispatcher, clock } = this.#options;
    // Outside the try: a credential that cannot be had (an OIDC token the agent will not mint) is not a fault to retry.
    const authorization = await credential.authorization();
    this.budget.spend(clock.now());
    this.#sent++;
    // The whole request — headers and every byte of the body — within request-timeout, and never past the deadline.
    // A read sent at the deadline (the last poll) still gets a moment to answer.
    const limitMs = Math.ceil(Math.max(MIN_REQUEST_MS, Math.min(this.#options.requestTimeoutMs ?? Infinity, deadlineMs - clock.now())));
    // Timers take at most 2^31 − 1 ms (24.8 days): a limit further out than that is no limit.
    const timer = limitMs <= 2 ** 31 - 1 ? AbortSignal.timeout(limitMs) : undefined;
    const signal = timer ? AbortSignal.any([this.#options.signal, timer]) : this.#options.signal;
    let headersArrived = false;
    try {
      const { origin, pathname, search } = new URL(url);
      const response = await dispatcher.request({
        origin,
        path: pathname + search,
        method: 'GET',
        signal,
        headers: {
          authorization,
          accept: 'application/json',
          'user-agent': this.#options.userAgent ?? 'test-engine-gate',
        },
      });
      headersArrived = true;
      const headers = response.headers as Headers;
      this.budget.update(headers, clock.now());
      return { status: response.statusCode, headers, text: await response.body.text() };
    } catch (error) {
      if (this.#options.signal.aborted) throw cancelled(this.#options.signal);
      if (timer?.aborted) {
        const code = headersArrived ? 'UND_ERR_BODY_TIMEOUT' : 'UND_ERR_HEADERS_TIMEOUT';
        return { fault: Object.assign(new Error(`no complete response within ${formatSeconds(limitMs)}`), { code }) };
      }
      return { fault: error instanceof Error ? error : new Error(String(error)) };
    }
  }

  /** Holds a request back while a rate-limit window is spent, instead of sending it into a 429. */
  async #waitForBudget(deadlineMs: number): Promise<void> {
    const { clock, signal, log } = this.#options;
    for (;;) {
      const now = clock.now();
      const exhausted = this.budget.exhausted(now);
      if (!exhausted) return;
      if (now + exhausted.waitMs > deadlineMs) {
        throw new TransientApiError(`the ${SCOPE_WORDS[exhausted.scope]} rate limit is spent until ${formatSeconds(exhausted.waitMs)} from now, past the timeout`);
      }
      const waitMs = exhausted.waitMs + 50 + this.budget.nextWindowOffsetMs(exhausted.scope);
      log(`rate limit: no ${SCOPE_WORDS[exhausted.scope]} requests left; waiting ${formatSeconds(waitMs)} for the window to reset`);
      await clock.sleep(waitMs, signal).catch(() => {
        throw cancelled(signal);
      });
    }
  }

  /** Exponential backoff with equal jitter: a random delay in [½, 1] × base × 2^(retry−1), capped. */
  #backoff(retry: number): number {
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, retry - 1));
    return Math.round(ceiling * (0.5 + (this.#options.random ?? Math.random)() / 2));
  }

  #statusError(answer: { status: number; headers: Headers; text: string }, what: string, subject: RequestSubject): ApiError {
    const { status, headers, text } = answer;
    const { org, suite, credential } = subject;
    const said = apiSaid(text);
    const where = suite ? `organization "${org}" (suite "${suite}")` : `organization "${org}"`;
    const fix = { fix: credential.fix, ...(credential.docs ? { docs: credential.docs } : {}) };
    if (status === 401) return new ApiError(`${what} was refused (401 Unauthorized): ${credential.description} is not accepted.${said}`, status, fix);
    if (status === 403) {
      const message = apiMessage(text);
      if (message?.startsWith('Billing Error')) {
        return new ApiError(`${what} was refused (403 Forbidden): the plan of organization "${org}" does not include it.${said}`, status, { fix: 'Check the organization\'s Buildkite plan (Test Engine), or ask its administrators.' });
      }
      return new ApiError(`${what} was refused (403 Forbidden): ${credential.description} lacks a scope (read_suites; read_builds for a build) or access to ${where}.${said}`, status, fix);
    }
    if (status === 404) {
      const check = suite
        ? `Check org "${org}" and suite-slug "${suite}" (the suite's slug is in its Test Engine URL), and that ${credential.description} can see them.`
        : `Check org "${org}", and that ${credential.description} can see it.`;
      return new ApiError(`${what} found nothing (404 Not Found).${said}`, status, { fix: check });
    }
    if (status >= 300 && status < 400) {
      const location = headers.location ? ` to ${String(headers.location).split('?')[0]}` : '';
      return new ApiError(`${what} answered ${status}, a redirect${location}; it is not followed, so the token stays with api-url.`, status, { fix: 'Check api-url.' });
    }
    return new ApiError(`${what} answered ${status}.${said}`, status);
  }
}

/** The path and query of an API URL, for log lines (there are no credentials in it). */
function describeRequest(url: string): string {
  const u = new URL(url);
  return `GET ${u.pathname}${u.search}`;
}

function cancelled(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new CancelledError();
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The body as the schema's type; a body that is not JSON is a transient fault (a proxy's page); JSON of the wrong
 * shape is a contract mismatch, which asking again will not mend.
 */
function parseBody<S extends z.ZodMiniType>(answer: { status: number; headers: Headers; text: string }, schema: S, what: string): z.infer<S> | TransientApiError | ContractError {
  const json = parseJson(answer.text);
  if (json === undefined) {
    const type = String(answer.headers['content-type'] ?? 'no content type');
    return new TransientApiError(`unexpected response from ${what}: ${answer.status} with a body that is not JSON (${type}): ${excerpt(answer.text)}`);
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  return new ContractError(`unexpected response from ${what}: ${issue ? describeIssue(issue) : 'wrong shape'} (${excerpt(answer.text)})`, answer.status);
}

function linksOf(headers: Headers, url: string): PageLinks {
  const link = headers.link;
  return parseLinkHeader(Array.isArray(link) ? link.join(', ') : link, url);
}

/** The `message` of a JSON error body, cleaned, or undefined (a proxy's page: the status says enough). */
function apiMessage(text: string): string | undefined {
  const body = ErrorBody.safeParse(parseJson(text));
  return body.success && body.data.message ? excerpt(body.data.message) : undefined;
}

/** ` The API said: "…".` from a JSON error body, or nothing. */
function apiSaid(text: string): string {
  const message = apiMessage(text);
  return message ? ` The API said: "${message}".` : '';
}

function networkFault(error: Error & { code?: string }): string {
  const messages: Record<string, string> = {
    UND_ERR_HEADERS_TIMEOUT: 'no response headers within request-timeout',
    UND_ERR_BODY_TIMEOUT: 'the response body did not complete within request-timeout',
    UND_ERR_CONNECT_TIMEOUT: 'could not connect in time',
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset',
    UND_ERR_SOCKET: 'connection closed unexpectedly',
    ENOTFOUND: 'host not found (DNS)',
    EAI_AGAIN: 'DNS lookup failed temporarily',
  };
  if (error.code && messages[error.code]) return messages[error.code]!;
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error && cause !== error) return `${error.message} (${networkFault(cause)})`;
  return error.code ? `${error.message} (${error.code})` : error.message;
}

/** A short, single-line excerpt of text from the API, for error messages. */
function excerpt(text: string, max = 120): string {
  // The API's (or a proxy's) text is untrusted like test output: no terminal escapes into the job log.
  const { text: line, omitted } = cleanLine(text, max);
  return omitted ? `${line}…` : line || '(empty)';
}
