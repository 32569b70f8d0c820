/**
 * The sim's rate limits answer as SPEC.md's API section says: both header sets with their scopes, the warnings
 * while a limit is spent, 429 bodies with `rest`/`rest_user`, and a user's limit shared by every token of the user.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeTestEngine, type FakeTestEngine } from '../../sim/fake-test-engine.js';

let api: FakeTestEngine | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

const get = (token: string) => fetch(`${api!.url}/v2/analytics/organizations/acme/suites/web/runs?build_id=b`, { headers: { authorization: `Bearer ${token}` } });

describe('the sim\'s rate limits', () => {
  it('shares a user\'s limit between the tokens of one user, with both header sets and the scopes the API names', async () => {
    api = await startFakeTestEngine({ org: 'acme', token: 'alice-1', moreTokens: ['alice-2', 'bob-1'], tokenOwners: { 'alice-1': 'alice', 'alice-2': 'alice' }, suites: [{ slug: 'web', runs: [] }], rateLimit: { orgLimit: 200, userLimit: 2, windowMs: 60_000 } });
    const first = await get('alice-1');
    expect(Object.fromEntries([...first.headers].filter(([k]) => k.startsWith('ratelimit')))).toEqual({
      'ratelimit-scope': 'rest',
      'ratelimit-limit': '200',
      'ratelimit-remaining': '199',
      'ratelimit-reset': '60',
      'ratelimit-user-scope': 'rest_user',
      'ratelimit-user-limit': '2',
      'ratelimit-user-remaining': '1',
      'ratelimit-user-reset': '60',
    });
    const second = await get('alice-2'); // the same user: the last of alice's two
    expect(second.headers.get('ratelimit-user-remaining')).toBe('0');
    expect(second.headers.get('ratelimit-user-warning')).toMatch(/rate limit/);
    const third = await get('alice-1');
    expect(third.status).toBe(429);
    expect(await third.json()).toMatchObject({ scope: 'rest_user', limit: 2, current: 3, reset: 60 });
    // Another user has a window of its own.
    expect((await get('bob-1')).headers.get('ratelimit-user-remaining')).toBe('1');
  });
});
