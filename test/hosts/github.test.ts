import { describe, expect, it } from 'vitest';
import type { SuiteOutcome } from '../../src/gate/verdict.js';
import { actionResult } from '../../src/hosts/github.js';
import { parseLocation } from '../../src/hosts/github-location.js';

describe('parseLocation (inline annotations)', () => {
  it.each([
    ['./spec/models/user_spec.rb:23', { file: 'spec/models/user_spec.rb', startLine: 23 }],
    ['src/components/LoginForm.test.tsx:88:20', { file: 'src/components/LoginForm.test.tsx', startLine: 88 }],
    ['tests/test_api.py', { file: 'tests/test_api.py' }],
    ['tests/e2e/test_checkout.py::test_checkout_flow[chromium]', { file: 'tests/e2e/test_checkout.py' }],
    ['./spec/a_spec.rb:12::ignored', { file: 'spec/a_spec.rb', startLine: 12 }],
    ['C:/work/a.cs:7', { file: 'C:/work/a.cs', startLine: 7 }],
  ])('%s', (location, expected) => {
    expect(parseLocation(location)).toEqual(expected);
  });

  it('gives nothing for an empty location', () => {
    expect(parseLocation(undefined)).toBeUndefined();
    expect(parseLocation('')).toBeUndefined();
    expect(parseLocation(':12')).toBeUndefined();
  });
});

describe('actionResult (the result output)', () => {
  const outcome = (verdict: SuiteOutcome['verdict'], result?: 'pending' | 'passed' | 'stale'): SuiteOutcome => ({
    suite: 'web',
    verdict,
    reason: '',
    elapsedMs: 0,
    ...(result ? { run: { id: 'r', state: 'running', result } } : {}),
  });

  it('names why a run was inconclusive when the run says it', () => {
    expect(actionResult(outcome('passed'))).toBe('passed');
    expect(actionResult(outcome('failed'))).toBe('failed');
    expect(actionResult(outcome('error'))).toBe('error');
    expect(actionResult(outcome('inconclusive', 'stale'))).toBe('stale');
    expect(actionResult(outcome('inconclusive', 'pending'))).toBe('pending');
    expect(actionResult(outcome('inconclusive', 'passed'))).toBe('inconclusive');
    expect(actionResult(outcome('inconclusive'))).toBe('inconclusive');
  });
});
