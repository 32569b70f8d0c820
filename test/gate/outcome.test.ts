import { describe, expect, it } from 'vitest';
import { exitCodeFor, type SuiteOutcome, type Verdict } from '../../src/gate/outcome.js';

const o = (verdict: Verdict): SuiteOutcome => ({ suite: verdict, verdict, reason: '', elapsedMs: 0 });

describe('exitCodeFor (several suites)', () => {
  it.each([
    [['passed'], 0],
    [['passed', 'passed'], 0],
    [['failed'], 1],
    [['passed', 'failed'], 1],
    [['inconclusive'], 3],
    [['passed', 'inconclusive'], 3],
    [['inconclusive', 'failed'], 1],
    [['failed', 'error'], 2],
    [['error', 'inconclusive', 'passed'], 2],
  ] as [Verdict[], number][])('%j → %i', (verdicts, code) => {
    expect(exitCodeFor(verdicts.map(o))).toBe(code);
  });

  it('never passes when there is nothing to judge', () => {
    expect(exitCodeFor([])).toBe(2);
  });
});
