/**
 * The rate-limit budget shared by every request of the process (SPEC.md step 4). Buildkite allows 200
 * requests a minute per organization and 50 per token, and says on every response how many remain
 * (`RateLimit-Remaining`, `RateLimit-User-Remaining`) and how many seconds until the window resets
 * (`RateLimit-Reset`, `RateLimit-User-Reset`). Many gates share one token, so the budget is read on every
 * response and spent deliberately: polls are paced to last until the reset, and a request is held back
 * rather than sent into a certain 429.
 */

export type HeaderValue = string | string[] | undefined;
export type Headers = Readonly<Record<string, HeaderValue>>;

interface Window {
  /** What the API last said remains, less the requests sent since. */
  remaining: number;
  resetAtMs: number;
  /** What the API last said remains, as it said it. */
  reported: number;
  /** Requests this process sent since that report. */
  sentSince: number;
}

/**
 * The window of one scope is shared with other gates on the same token or organization: their requests show
 * as a drop in `remaining` larger than ours. Consumers ≈ drop ÷ our requests, smoothed, kept across windows.
 */
const CONSUMER_SMOOTHING = 0.5;

export type Scope = 'organization' | 'user';

function header(headers: Headers, name: string): string | undefined {
  const value = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

function number(text: string | undefined): number | undefined {
  if (text === undefined || !/^\s*\d+(\.\d+)?\s*$/.test(text)) return undefined;
  return Number(text);
}

export class RateLimitBudget {
  readonly #windows = new Map<Scope, Window>();
  readonly #consumers = new Map<Scope, number>();

  /** Reads the four headers of a response (any status) into the windows of both scopes. */
  update(headers: Headers, nowMs: number): void {
    this.#read('organization', headers, 'ratelimit-remaining', 'ratelimit-reset', nowMs);
    this.#read('user', headers, 'ratelimit-user-remaining', 'ratelimit-user-reset', nowMs);
  }

  #read(scope: Scope, headers: Headers, remainingName: string, resetName: string, nowMs: number): void {
    const remaining = number(header(headers, remainingName));
    const reset = number(header(headers, resetName));
    if (remaining === undefined || reset === undefined) return;
    const resetAtMs = nowMs + reset * 1000;
    const previous = this.#windows.get(scope);
    // Same window (reset within the headers' 1 s resolution), a drop, and requests of ours to compare with.
    if (previous && Math.abs(previous.resetAtMs - resetAtMs) <= 1500 && remaining <= previous.reported && previous.sentSince > 0) {
      const observed = Math.max(1, (previous.reported - remaining) / previous.sentSince);
      const estimate = this.#consumers.get(scope) ?? 1;
      this.#consumers.set(scope, estimate * (1 - CONSUMER_SMOOTHING) + observed * CONSUMER_SMOOTHING);
    }
    this.#windows.set(scope, { remaining, resetAtMs, reported: remaining, sentSince: 0 });
  }

  /** How many processes seem to share the scope's window (1 when alone or unknown). */
  consumers(scope: Scope): number {
    return this.#consumers.get(scope) ?? 1;
  }

  /** Counts a request about to be sent, so that concurrent suites do not all spend the last unit. */
  spend(nowMs: number): void {
    for (const window of this.#windows.values()) {
      if (window.resetAtMs > nowMs && window.remaining > 0) window.remaining -= 1;
      window.sentSince += 1;
    }
  }

  /** The scope whose window is exhausted, and how long until it resets; undefined when a request may go. */
  exhausted(nowMs: number): { scope: Scope; waitMs: number } | undefined {
    let worst: { scope: Scope; waitMs: number } | undefined;
    for (const [scope, window] of this.#windows) {
      const waitMs = window.resetAtMs - nowMs;
      if (window.remaining <= 0 && waitMs > 0 && (!worst || waitMs > worst.waitMs)) worst = { scope, waitMs };
    }
    return worst;
  }

  /**
   * The poll interval to use: the configured one, or longer when this process's share of the remaining
   * requests would not last until the reset at that pace. `remaining ÷ consumers` requests spread over `reset`
   * seconds keep every gate on the token out of 429s.
   */
  pace(intervalMs: number, nowMs: number): { intervalMs: number; scope?: Scope; remaining?: number; resetMs?: number; consumers?: number } {
    let result: { intervalMs: number; scope?: Scope; remaining?: number; resetMs?: number; consumers?: number } = { intervalMs };
    for (const [scope, window] of this.#windows) {
      const resetMs = window.resetAtMs - nowMs;
      if (resetMs <= 0) continue;
      const consumers = this.consumers(scope);
      const paced = window.remaining <= 0 ? resetMs : (resetMs * consumers) / window.remaining;
      if (paced > result.intervalMs) result = { intervalMs: paced, scope, remaining: window.remaining, resetMs, consumers };
    }
    return result;
  }
}

/**
 * How long a 429 asks to wait: `Retry-After` (seconds or a date) when present, else the reset of the scope
 * that ran out (headers, then the JSON body's `reset`), else undefined.
 */
export function rateLimitWaitMs(headers: Headers, body: unknown, nowMs: number): number | undefined {
  const retryAfter = header(headers, 'retry-after');
  if (retryAfter !== undefined) {
    const secs = number(retryAfter);
    if (secs !== undefined) return secs * 1000;
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return Math.max(0, date - nowMs);
  }
  const resets: number[] = [];
  const user = number(header(headers, 'ratelimit-user-remaining'));
  const org = number(header(headers, 'ratelimit-remaining'));
  const userReset = number(header(headers, 'ratelimit-user-reset'));
  const orgReset = number(header(headers, 'ratelimit-reset'));
  if (user === 0 && userReset !== undefined) resets.push(userReset);
  if (org === 0 && orgReset !== undefined) resets.push(orgReset);
  if (resets.length === 0 && body && typeof body === 'object' && 'reset' in body) {
    const reset = number(String((body as { reset: unknown }).reset));
    if (reset !== undefined) resets.push(reset);
  }
  if (resets.length === 0) {
    for (const r of [userReset, orgReset]) if (r !== undefined) resets.push(r);
  }
  return resets.length ? Math.max(...resets) * 1000 : undefined;
}
