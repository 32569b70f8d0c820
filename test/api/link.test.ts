import { describe, expect, it } from 'vitest';
import { pageNumberOf, parseLinkHeader } from '../../src/api/link.js';

const BASE = 'https://api.buildkite.com/v2/analytics/organizations/acme/suites/web/runs/r1/failed_executions?per_page=100';

describe('parseLinkHeader', () => {
  it('reads the relations Buildkite sends', () => {
    const header =
      '<https://api.buildkite.com/v2/x?page=3&per_page=100>; rel="next", <https://api.buildkite.com/v2/x?page=1&per_page=100>; rel="prev", ' +
      '<https://api.buildkite.com/v2/x?page=1&per_page=100>; rel="first", <https://api.buildkite.com/v2/x?page=1000&per_page=100>; rel="last"';
    expect(parseLinkHeader(header, BASE)).toEqual({
      next: 'https://api.buildkite.com/v2/x?page=3&per_page=100',
      prev: 'https://api.buildkite.com/v2/x?page=1&per_page=100',
      first: 'https://api.buildkite.com/v2/x?page=1&per_page=100',
      last: 'https://api.buildkite.com/v2/x?page=1000&per_page=100',
    });
  });

  it('resolves relative targets, accepts unquoted and multiple rels, ignores junk', () => {
    const header = '</v2/x?page=2>; rel=next, <https://api.buildkite.com/v2/x?page=9>; title="a, b"; rel="last alternate", garbage, <>; foo=bar';
    expect(parseLinkHeader(header, BASE)).toEqual({
      next: 'https://api.buildkite.com/v2/x?page=2',
      last: 'https://api.buildkite.com/v2/x?page=9',
      alternate: 'https://api.buildkite.com/v2/x?page=9',
    });
  });

  it('gives nothing for a missing or empty header', () => {
    expect(parseLinkHeader(undefined, BASE)).toEqual({});
    expect(parseLinkHeader('', BASE)).toEqual({});
  });

  it('keeps the first target of a relation that appears twice', () => {
    expect(parseLinkHeader('<https://a/1>; rel="next", <https://a/2>; rel="next"', BASE).next).toBe('https://a/1');
  });
});

describe('pageNumberOf', () => {
  it('reads page, defaults to 1, refuses non-numbers', () => {
    expect(pageNumberOf('https://a/x?page=42&per_page=100')).toBe(42);
    expect(pageNumberOf('https://a/x?per_page=100')).toBe(1);
    expect(pageNumberOf('https://a/x?page=abc')).toBeUndefined();
  });
});
