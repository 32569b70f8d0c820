/**
 * The rate-limit budget shared by every request of the process (SPEC.md step 4). Buildkite allows 200
 * requests a minute per organization and 50 per user (every token of one user shares them), and says on every response how many remain
 * (`RateLimit-Remaining`, `RateLimit-User-Remaining`) and how many seconds until the window resets
 * (`RateLimit-Reset`, `RateLimit-User-Reset`); Buildkite's docs add the limit (`RateLimit-Limit`), read when
 * present. Many gates share one token, so the budget is read on every response and spent deliberately: each
 * gate estimates how many share the window and aims at its fair share of what is left until the reset, takes
 * a turn in the next window when its share is spent, and holds a request back rather than send it into a
 * certain 429.
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
  /** Requests this process sent in this window. */
  sentInWindow: number;
  /** How fast the others spend it (requests a millisecond), as far as its spending since it began shows. */
  drainPerMs: number;
}

/**
 * The window of one scope is shared with other gates on the same token or organization: their requests show
 * as a drop in `remaining` larger than ours. Consumers ≈ drop ÷ our requests, smoothed, kept across windows.
 */
const CONSUMER_SMOOTHING = 0.5;
/** A window that ran out had more gates than requests: a 429 says at least this many per request of its limit. */
const OVERSUBSCRIBED_GROWTH = 1.5;
/** Gates that all resume at one reset are jittered by up to this much, so that they do not arrive as one burst. */
const RESET_JITTER_MS = 1_000;
/**
 * Turns taken in the next window fall within this fraction of it; its rest is for the reads that a turn brings
 * (a failed run's failed executions and Build tests) and for the 1 s resolution of the reset.
 */
const NEXT_WINDOW_TURNS = 0.8;
/**
 * A window is "low" (SPEC.md step 4) while what remains is less than this many times what this gate would
 * send at its own interval until the reset; above that, others' spending — another tool's burst before this
 * gate's first request, say — is no reason to slow a gate down.
 */
const LOW_BUDGET_FACTOR = 4;
/** Before this fraction of a window has passed, its spending says too little about its pace (bursts at the reset). */
const EARLY_IN_WINDOW = 0.2;

/** The API's own names (the 429 body's `scope`, the `RateLimit-Scope` headers): the organization's limit, and the user's. */
export type Scope = 'rest' | 'rest_user';
/** How a scope reads in the log. */
export const SCOPE_WORDS: Readonly<Record<Scope, string>> = { rest: 'organization', rest_user: 'user' };

function header(headers: Headers, name: string): string | undefined {
  const value = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

function number(text: string | undefined): number | undefined {
  if (text === undefined || !/^\s*\d+(\.\d+)?\s*$/.test(text)) return undefined;
  return Number(text);
}

/** What a window looked like at its fullest: its length and its limit, as far as the responses showed them. */
interface WindowShape {
  lengthMs: number;
  limit: number;
  /** Named by the API (`RateLimit-Limit`, or a 429's body): exact, not the lower bound `remaining` gives. */
  limitKnown?: boolean;
}

export interface Pace {
  readonly intervalMs: number;
  readonly scope?: Scope;
  readonly remaining?: number;
  readonly resetMs?: number;
  readonly consumers?: number;
  /** True when this gate's share of the window is spent and it waits for its slot in the next one. */
  readonly nextWindow?: boolean;
}

export class RateLimitBudget {
  readonly #windows = new Map<Scope, Window>();
  readonly #consumers = new Map<Scope, number>();
  readonly #shapes = new Map<Scope, WindowShape>();
  readonly #random: () => number;

  /** `random` spreads the gates that wait for the same reset over the next window; tests pass a constant. */
  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  /** Reads the rate-limit headers of a response (any status) into the windows of both scopes. */
  update(headers: Headers, nowMs: number): void {
    this.#read('rest', headers, 'ratelimit-remaining', 'ratelimit-reset', 'ratelimit-limit', nowMs);
    this.#read('rest_user', headers, 'ratelimit-user-remaining', 'ratelimit-user-reset', 'ratelimit-user-limit', nowMs);
  }

  #read(scope: Scope, headers: Headers, remainingName: string, resetName: string, limitName: string, nowMs: number): void {
    const remaining = number(header(headers, remainingName));
    const reset = number(header(headers, resetName));
    if (remaining === undefined || reset === undefined) return;
    const limitHeader = number(header(headers, limitName));
    const resetAtMs = nowMs + reset * 1000;
    const previous = this.#windows.get(scope);
    // Same window (reset within the headers' 1 s resolution), a drop, and requests of ours to compare with.
    const sameWindow = previous !== undefined && Math.abs(previous.resetAtMs - resetAtMs) <= 1500;
    // A new window: the request that brought this response is the first of ours in it.
    const sentInWindow = sameWindow ? previous.sentInWindow : 1;
    const before = this.#shapes.get(scope) ?? { lengthMs: 0, limit: 0 };
    // The longest reset and the most remaining ever seen: a window's length and limit, from below; exact when
    // the API names the limit (`RateLimit-Limit`, or a 429's body).
    const shape: WindowShape =
      limitHeader !== undefined && limitHeader > 0
        ? { lengthMs: Math.max(before.lengthMs, reset * 1000), limit: limitHeader, limitKnown: true }
        : { ...before, lengthMs: Math.max(before.lengthMs, reset * 1000), limit: before.limitKnown ? before.limit : Math.max(before.limit, remaining + 1) };
    this.#shapes.set(scope, shape);
    const estimate = this.#consumers.get(scope);
    if (previous && sameWindow && remaining <= previous.reported && previous.sentSince > 0) {
      const observed = Math.max(1, (previous.reported - remaining) / previous.sentSince);
      // The first observation is taken as it is: starting from "alone" would spend a shared window in a burst.
      this.#consumers.set(scope, estimate === undefined ? observed : estimate * (1 - CONSUMER_SMOOTHING) + observed * CONSUMER_SMOOTHING);
    }
    let drainPerMs = 0;
    if (shape.limitKnown && shape.lengthMs > 0) {
      // The reset has a 1 s resolution: the middle of that second is the best guess of where the window stands.
      const elapsedMs = Math.max(500, shape.lengthMs - reset * 1000 + 500);
      drainPerMs = Math.max(0, shape.limit - remaining - sentInWindow) / elapsedMs;
      if (remaining > 0) this.#fromSpend(scope, shape, remaining, Math.min(1, elapsedMs / shape.lengthMs), sentInWindow);
    }
    this.#windows.set(scope, { remaining, resetAtMs, reported: remaining, sentSince: 0, sentInWindow, drainPerMs });
  }

  /**
   * With the window's limit known, what has gone since it began (`elapsed`, a fraction of it) says how many
   * share it. Early in a window, at least the requests spent for each of ours. Later, the pace of the spending
   * against the pace of time: a window spent faster than time passes has more gates than estimated, one spent
   * slower has fewer (some finished).
   */
  #fromSpend(scope: Scope, shape: WindowShape, remaining: number, elapsed: number, ours: number): void {
    const used = Math.max(0, shape.limit - remaining);
    const estimate = this.consumers(scope);
    if (elapsed < EARLY_IN_WINDOW) {
      this.#consumers.set(scope, Math.max(estimate, used / ours));
      return;
    }
    const ratio = Math.min(2, Math.max(0.5, used / shape.limit / elapsed));
    this.#consumers.set(scope, Math.max(1, estimate * ratio));
  }

  /**
   * A 429's JSON body names the limit: the window's true size. That the window ran out while this process sent
   * only some of it also says how many share it: more than its limit ÷ our requests in it.
   */
  learnLimit(scope: Scope, limit: number): void {
    const shape = this.#shapes.get(scope) ?? { lengthMs: 0, limit: 0 };
    this.#shapes.set(scope, { ...shape, limit, limitKnown: true });
    const ours = Math.max(1, this.#windows.get(scope)?.sentInWindow ?? 1);
    this.#consumers.set(scope, Math.max(this.consumers(scope), (limit * OVERSUBSCRIBED_GROWTH) / ours));
  }

  /**
   * Where in the next window this gate takes its turn: gates that all wait for one reset spread over the time
   * the window needs to serve each of them once, instead of all sending at the reset and running into 429s.
   * `refused`: how many times the request taking the turn has been answered 429 (0 for an ordinary turn).
   */
  nextWindowOffsetMs(scope: Scope, refused = 0): number {
    const shape = this.#shapes.get(scope);
    if (!shape || shape.limit <= 0 || shape.lengthMs <= 0) return 0;
    const consumers = this.consumers(scope);
    // The fuller the next window will be, the more its turns spread over it: spent evenly, its spending shows
    // every gate its pace, and an estimate too high comes back down. A gate alone goes at the reset, jittered.
    // Never past the window's first part: more gates than requests still take their turns in it (those refused
    // go earlier in the one after), and the estimate, made while the window before was crowded, is often too
    // high by the time the turn comes: a turn put off further leaves the window that gates have finished unspent.
    const load = consumers / shape.limit;
    const spread = shape.lengthMs * Math.min(NEXT_WINDOW_TURNS, load <= 1 ? (load * (consumers - 1)) / shape.limit : load);
    const spreadMs = Math.max(Math.min(RESET_JITTER_MS, shape.lengthMs / 10), spread);
    // A request refused again and again goes earlier each time: the gates that waited longest are served first.
    return Math.round((this.#random() * spreadMs) / (1 + refused));
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
      window.sentInWindow += 1;
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
   * The poll interval to use: this gate's fair share of what is left until the reset — `remaining ÷ consumers`
   * requests spread evenly over the time left — or the configured interval when that is longer. A gate whose
   * share of the window is less than one request never stretches its wait past the reset (the next window's
   * budget would go unspent): it takes a turn before the reset with the probability its share gives, else its
   * slot in the next window.
   */
  pace(intervalMs: number, nowMs: number): Pace {
    let result: Pace = { intervalMs };
    for (const [scope, window] of this.#windows) {
      const resetMs = window.resetAtMs - nowMs;
      if (resetMs <= 0) continue;
      // Plenty left for this gate at its own pace: no stretching, however the window was spent so far.
      if (window.remaining >= (LOW_BUDGET_FACTOR * resetMs) / intervalMs) continue;
      const consumers = this.consumers(scope);
      const share = window.remaining / consumers;
      // At the pace the others spend the window, how long what remains lasts: a window spent in a burst at its
      // start offers less than its remaining requests say.
      const lastsMs = window.drainPerMs > 0 ? window.remaining / window.drainPerMs : Infinity;
      const chance = Math.min(share, lastsMs / resetMs);
      // Less than one turn's chance: a turn in this window with that probability, at a random moment before the
      // reset (so the window is spent evenly, not hoarded) or before it runs out, else a turn in the next one.
      const thisWindow = chance >= 1 || this.#random() < chance;
      const paced = chance >= 1 ? resetMs / share : thisWindow ? this.#random() * Math.min(resetMs, lastsMs) : resetMs + this.nextWindowOffsetMs(scope);
      if (paced > result.intervalMs) {
        result = { intervalMs: paced, scope, remaining: window.remaining, resetMs, consumers, ...(thisWindow ? {} : { nextWindow: true }) };
      }
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
