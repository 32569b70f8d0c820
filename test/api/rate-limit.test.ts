import { describe, expect, it } from 'vitest';
import { RateLimitBudget, rateLimitWaitMs } from '../../src/api/rate-limit.js';

const headers = (orgRemaining: number, orgReset: number, userRemaining: number, userReset: number) => ({
  'ratelimit-remaining': String(orgRemaining),
  'ratelimit-reset': String(orgReset),
  'ratelimit-user-remaining': String(userRemaining),
  'ratelimit-user-reset': String(userReset),
});

describe('RateLimitBudget', () => {
  it('keeps the poll interval while the budget lasts until the reset', () => {
    const budget = new RateLimitBudget();
    budget.update(headers(190, 60, 45, 60), 0);
    expect(budget.pace(5_000, 0)).toEqual({ intervalMs: 5_000 });
  });

  it('a lone gate keeps its pace when another client spent some of the organization\'s window before it', () => {
    // Another tool spent 15 of the organization's 200 just before; this gate has its own token (50 a minute).
    const budget = new RateLimitBudget(() => 0.5);
    budget.update({ ...headers(184, 60, 49, 60), 'ratelimit-limit': '200', 'ratelimit-user-limit': '50' }, 0);
    expect(budget.pace(2_000, 0)).toEqual({ intervalMs: 2_000 });
    budget.spend(1_000);
    budget.update({ ...headers(183, 59, 48, 59), 'ratelimit-limit': '200', 'ratelimit-user-limit': '50' }, 2_000);
    expect(budget.pace(2_000, 2_000)).toEqual({ intervalMs: 2_000 });
  });

  it('stretches the interval so the scarcer scope lasts until its reset', () => {
    const budget = new RateLimitBudget();
    budget.update(headers(150, 60, 4, 40), 0);
    expect(budget.pace(5_000, 0)).toEqual({ intervalMs: 10_000, scope: 'rest_user', remaining: 4, resetMs: 40_000, consumers: 1 });
    // Time moves on: the same four requests now have 20 s to last.
    expect(budget.pace(5_000, 20_000).intervalMs).toBe(5_000);
  });

  it('holds requests back while a window is spent, and forgets the window once it resets', () => {
    const budget = new RateLimitBudget(() => 0.99);
    budget.update(headers(150, 60, 1, 30), 0);
    expect(budget.exhausted(0)).toBeUndefined();
    budget.spend(0); // a concurrent suite takes the last one
    expect(budget.exhausted(1_000)).toEqual({ scope: 'rest_user', waitMs: 29_000 });
    expect(budget.exhausted(30_000)).toBeUndefined();
    // Alone: at the reset, jittered by up to 1 s.
    expect(budget.pace(5_000, 1_000)).toMatchObject({ intervalMs: 29_000 + 990, nextWindow: true });
  });

  it('never stretches a wait past the reset: a gate whose share is spent takes a turn now or in the next window', () => {
    // Twenty gates on a 50-request, 10-second window; 6 requests left for 6 s: less than one each (0.3).
    const at = (...draws: number[]) => {
      const budget = new RateLimitBudget(() => draws.shift() ?? 0);
      budget.update(headers(1_000, 60, 50, 10), 0); // a fresh window: its length and (at least) its limit
      budget.spend(0);
      budget.update(headers(1_000, 60, 30, 9), 1_000); // 20 gone for 1 of ours: 20 gates
      budget.update(headers(1_000, 60, 6, 6), 4_000);
      return budget.pace(1_000, 4_000);
    };
    // Not 6 s × 20 / 6 = 20 s, with the next window's budget unspent while it waits.
    // With probability 0.3 (its share) a turn in this window, at a random moment before the reset…
    expect(at(0.29, 0.5)).toEqual({ intervalMs: 3_000, scope: 'rest_user', remaining: 6, resetMs: 6_000, consumers: 20 });
    // …else in the next window, which serves all twenty gates: spread over its first 20 × 19 ÷ 51² of it (51,
    // the limit as far as the headers show it), so that it is spent evenly rather than in a burst at the reset.
    expect(at(0.31, 1)).toMatchObject({ intervalMs: 6_000 + Math.round((10_000 * 20 * 19) / 51 ** 2), nextWindow: true });
  });

  it('learns from a 429 how many gates share the window: more than its limit over our requests in it', () => {
    const budget = new RateLimitBudget(() => 1);
    budget.update(headers(1_000, 60, 5, 10), 0);
    budget.spend(0);
    budget.update(headers(1_000, 60, 0, 10), 100); // the 429's own headers
    budget.learnLimit('rest_user', 9);
    // Two requests of ours in a window of nine that ran out: 1.5 × 9 ÷ 2.
    expect(budget.consumers('rest_user')).toBe(6.75);
    // Fewer gates than requests: the next window serves them all, spread over 6.75 × 5.75 ÷ 9² of it.
    expect(budget.nextWindowOffsetMs('rest_user')).toBe(Math.round((10_000 * 6.75 * 5.75) / 81));
  });

  it('takes its turn within the next window even when more gates share it than it has requests, and does not compound 429s', () => {
    const budget = new RateLimitBudget(() => 1);
    budget.update(headers(1_000, 60, 0, 10), 0); // our first request in this window was refused
    budget.learnLimit('rest_user', 9);
    budget.learnLimit('rest_user', 9);
    expect(budget.consumers('rest_user')).toBe(13.5);
    // 13.5 gates on 9 requests a 10-second window: a turn within the window's first 80%, not 1.5 windows out.
    expect(budget.nextWindowOffsetMs('rest_user')).toBe(8_000);
    // A request refused again goes earlier: the gates that waited longest are served first.
    expect(budget.nextWindowOffsetMs('rest_user', 3)).toBe(2_000);
  });

  it('takes only its share when other gates drain the same window', () => {
    const budget = new RateLimitBudget();
    budget.update(headers(150, 60, 40, 30), 0);
    budget.spend(0);
    // One request of ours, but the window dropped by 10: about ten gates share this token.
    budget.update(headers(150, 60, 30, 29), 1_000);
    expect(budget.consumers('rest_user')).toBe(10); // the first observation as it is
    budget.spend(1_000);
    budget.update(headers(150, 60, 24, 28), 2_000);
    expect(budget.consumers('rest_user')).toBeCloseTo(8); // then smoothed: halfway from 10 towards 6
    // 24 left for 28 s, and an eighth of them ours: one poll every ~9.3 s.
    expect(budget.pace(1_000, 2_000).intervalMs).toBeCloseTo((28_000 * 8) / 24);
  });

  it('does not mistake a new window for other gates', () => {
    const budget = new RateLimitBudget();
    budget.update(headers(150, 60, 2, 1), 0);
    budget.spend(0);
    budget.update(headers(150, 60, 49, 60), 1_500);
    expect(budget.consumers('rest_user')).toBe(1);
  });

  it('reads the limit the API names, and learns from a window spent in a burst to wait for the next one', () => {
    const limits = (remaining: number, reset: number) => ({ ...headers(remaining, reset, 1_000, 60), 'ratelimit-limit': '34' });
    const at = (...draws: number[]) => {
      const budget = new RateLimitBudget(() => draws.shift() ?? 0);
      // Our first request: 29 of 34 went in the first half second, 28 of them not ours.
      budget.update(limits(5, 10), 0);
      return budget;
    };
    expect(at().consumers('rest')).toBe(29); // at least the requests spent for each of ours
    // The share says 5 ÷ 29 (0.17); but at 28 requests a half second the 5 last 90 ms, a chance of 90 ÷ 10 000.
    expect(at(0.1, 0.5).pace(1_000, 0)).toMatchObject({ scope: 'rest', nextWindow: true });
    expect(at(0.005, 0.5).pace(1_000, 0)).toEqual({ intervalMs: 1_000 }); // a turn now, within those 90 ms
  });

  it('brings the estimate down when the window is spent slower than time passes: gates have finished', () => {
    const limits = (remaining: number, reset: number) => ({ ...headers(remaining, reset, 1_000, 60), 'ratelimit-limit': '34' });
    const budget = new RateLimitBudget();
    budget.update(limits(4, 10), 0);
    expect(budget.consumers('rest')).toBe(30);
    budget.update(limits(30, 10), 10_000); // a new window
    // Over half of it gone (0.55), and only 7 of 34 requests: the pace of a third of the gates; the estimate
    // halves, at most. (Our other suite's requests: no request of this one to compare drops with.)
    budget.update(limits(27, 5), 15_500);
    expect(budget.consumers('rest')).toBe(15);
    // Spent about as fast as time passes: the estimate holds, corrected by the ratio of the two.
    budget.update(limits(10, 4), 16_500);
    expect(budget.consumers('rest')).toBeCloseTo(15 * (24 / 34 / 0.65));
  });

  it('ignores missing and malformed headers', () => {
    const budget = new RateLimitBudget();
    budget.update({ 'ratelimit-remaining': 'lots', 'ratelimit-reset': '10' }, 0);
    budget.update({}, 0);
    expect(budget.exhausted(0)).toBeUndefined();
    expect(budget.pace(1_000, 0)).toEqual({ intervalMs: 1_000 });
  });
});

describe('rateLimitWaitMs (429)', () => {
  it('prefers Retry-After, in seconds or as a date', () => {
    expect(rateLimitWaitMs({ 'retry-after': '7', ...headers(0, 30, 0, 30) }, undefined, 0)).toBe(7_000);
    const now = Date.parse('2026-11-22T10:00:00Z');
    expect(rateLimitWaitMs({ 'retry-after': 'Sun, 22 Nov 2026 10:00:12 GMT' }, undefined, now)).toBe(12_000);
  });

  it('waits for the reset of the scope that ran out', () => {
    expect(rateLimitWaitMs(headers(120, 50, 0, 12), undefined, 0)).toBe(12_000);
    expect(rateLimitWaitMs(headers(0, 50, 3, 12), undefined, 0)).toBe(50_000);
  });

  it('falls back to the JSON body, then to any reset header, then gives up', () => {
    expect(rateLimitWaitMs({}, { message: 'slow down', scope: 'rest_user', reset: 9 }, 0)).toBe(9_000);
    expect(rateLimitWaitMs({ 'ratelimit-reset': '4' }, undefined, 0)).toBe(4_000);
    expect(rateLimitWaitMs({}, { message: 'no reset' }, 0)).toBeUndefined();
  });
});
