/**
 * The client against the API's documented answers: each body is written from SPEC.md's field lists and the seeds
 * (../shared/seeds/) — not from the sim — and served by a bare server on 127.0.0.1, so that what the gate reads
 * from each is checked against what Buildkite says it sends.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TestEngineApi } from '../../src/api/endpoints.js';
import { Transport, createDispatcher } from '../../src/api/transport.js';
import { ContractError } from '../../src/errors.js';
import { Secrets } from '../../src/secrets.js';
import { FakeClock } from '../support/fake-clock.js';

type Answer = { status?: number; headers?: Record<string, string>; body: unknown };
let server: Server | undefined;
afterEach(() => new Promise<void>((done) => (server ? server.close(() => done()) : done())));

/** A server that answers each path (without the query) with its canned answer, and records what it was asked. */
async function serve(answers: Record<string, Answer>) {
  const asked: string[] = [];
  server = createServer((req, res) => {
    asked.push(req.url!);
    const answer = answers[new URL(req.url!, 'http://x').pathname] ?? { status: 404, body: { message: 'Not Found' } };
    res.writeHead(answer.status ?? 200, { 'content-type': 'application/json; charset=utf-8', ...answer.headers });
    res.end(JSON.stringify(answer.body));
  });
  await new Promise<void>((done) => server!.listen(0, '127.0.0.1', done));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const transport = new Transport({ apiUrl: url, dispatcher: createDispatcher(5_000), signal: new AbortController().signal, log: () => {}, clock: new FakeClock(), secrets: new Secrets() });
  const credential = { authorization: async () => 'Bearer t', description: 'the token', fix: 'fix it' };
  return { api: new TestEngineApi(transport, { apiUrl: url, org: 'my_great_org', credentialFor: () => credential }), transport, asked };
}

const SUITE = '/v2/analytics/organizations/my_great_org/suites/my_suite_slug';
const RUN_ID = '64374307-12ab-4b13-a3f3-6a408f644ea2';
/** The seeds' run, as the docs show it. */
const RUN = {
  id: RUN_ID,
  branch: 'main',
  commit_sha: '1c3214fcceb2c14579a2c3c50cd78f1442fd8936',
  state: 'finished',
  result: 'passed',
  url: `https://api.buildkite.com${SUITE}/runs/${RUN_ID}`,
  web_url: `https://buildkite.com/organizations/my_great_org/analytics/suites/my_suite_slug/runs/${RUN_ID}`,
  created_at: '2023-06-25T05:32:53.228Z',
};
/** The seeds' failed execution, with `tags`; `failure_expanded` as Buildkite's own clients ask for it. */
const EXECUTION = {
  execution_id: '60f0e64c-ae4b-870e-b41f-5431205caf06',
  run_id: '075bbcd9-662c-86f5-9d40-adfa6549eff1',
  test_id: 'f6cb6c43-df94-8b60-81ed-14f9db7bbfd8',
  run_name: '075bbcd9-662c-86f5-9d40-adfa6549eff1',
  commit_sha: '1c3214fcceb2c14579a2c3c50cd78f1442fd8936',
  created_at: '2025-02-03T05:32:53.228Z',
  branch: 'main',
  failure_reason: "it didn't work",
  duration: 3.79073,
  location: './spec/models/user.rb:23',
  test_name: 'Deploy should be available',
  run_url: 'https:://buildkite.com/organizations/buildkite/analytics/suites/my-test-suite/runs/075bbcd9-662c-86f5-9d40-adfa6549eff1',
  test_url: 'https:://buildkite.com/organizations/buildkite/analytics/suites/my-test-suite/tests/f6cb6c43-df94-8b60-81ed-14f9db7bbfd8',
  test_execution_url: 'https:://buildkite.com/organizations/buildkite/analytics/suites/my-test-suite/tests/f6cb6c43?execution_id=60f0e64c',
  tags: { 'language.name': 'ruby', 'language.version': '3.3.6', 'custom.env': 'staging' },
};
/** A Build tests item in today's shape (SPEC.md): no state; labels as strings; counts with only the non-zero extras. */
const BUILD_TEST = {
  id: 'f6cb6c43-df94-8b60-81ed-14f9db7bbfd8',
  url: `https://api.buildkite.com${SUITE}/tests/f6cb6c43-df94-8b60-81ed-14f9db7bbfd8`,
  web_url: 'https://buildkite.com/organizations/my_great_org/analytics/suites/my_suite_slug/tests/f6cb6c43-df94-8b60-81ed-14f9db7bbfd8',
  scope: 'User#deploy',
  name: 'should be available',
  location: './spec/models/user.rb:23',
  file_name: './spec/models/user.rb',
  labels: ['flaky'],
  reliability: 50,
  duration_avg: 1.2,
  duration_sum: 2.4,
  duration_min: 1.1,
  duration_max: 1.3,
  executions_count: 2,
  executions_count_by_result: { passed: 1, failed: 1 },
};
const BUILD_ID = '0190a3b2-6c1f-7c3e-9a4b-2f1d5e8c7a60';
const FAR = 1e12;

describe('the documented answers, read', () => {
  it('a runs list and a run as the docs show them', async () => {
    const { api } = await serve({ [`${SUITE}/runs`]: { body: [RUN] }, [`${SUITE}/runs/${RUN_ID}`]: { body: RUN } });
    expect(await api.findRuns('my_suite_slug', { kind: 'build', buildId: BUILD_ID }, FAR)).toEqual([expect.objectContaining({ id: RUN_ID, state: 'finished', result: 'passed', web_url: RUN.web_url })]);
    expect(await api.getRun('my_suite_slug', RUN_ID, FAR)).toMatchObject({ state: 'finished', result: 'passed' });
  });

  it('failed executions with tags and failure_expanded, and without either', async () => {
    const expanded = { ...EXECUTION, failure_expanded: [{ expanded: ['expected: 1', 'got: 2'], backtrace: ['./spec/models/user.rb:23'] }] };
    const { tags: _, ...bare } = EXECUTION;
    const { api } = await serve({ [`${SUITE}/runs/${RUN_ID}/failed_executions`]: { body: [expanded, bare] } });
    const list = await api.failedExecutions('my_suite_slug', RUN_ID, 50, FAR);
    expect(list).toMatchObject({ total: 2, exact: true });
    expect(list.executions[0]).toMatchObject({ test_name: 'Deploy should be available', failure_expanded: [{ expanded: ['expected: 1', 'got: 2'] }], tags: { 'language.name': 'ruby' } });
    expect(list.executions[1]).toMatchObject({ failure_reason: "it didn't work", location: './spec/models/user.rb:23' });
    expect(list.executions[1]!.failure_expanded).toBeUndefined();
  });

  it('Build tests in today\'s shape; the older shape is a contract mismatch, asked once', async () => {
    const path = `/v2/analytics/organizations/my_great_org/builds/${BUILD_ID}/tests`;
    const today = await serve({ [path]: { body: [BUILD_TEST] } });
    const pages = [];
    for await (const page of today.api.buildTests(BUILD_ID, { tags: ['result:~failed'] }, FAR, 'my_suite_slug')) pages.push(page);
    expect(pages).toEqual([{ tests: [expect.objectContaining({ id: BUILD_TEST.id, executions_count_by_result: { passed: 1, failed: 1 } })], more: false }]);
    await new Promise<void>((done) => server!.close(() => done()));

    const { state: _, url: __, ...older } = { ...BUILD_TEST, state: 'enabled', labels: [{ name: 'flaky', color: '#f00' }] };
    const old = await serve({ [path]: { body: [{ ...older, state: 'enabled' }] } });
    const read = async () => {
      for await (const _page of old.api.buildTests(BUILD_ID, { tags: ['result:~failed'] }, FAR, 'my_suite_slug'));
    };
    await expect(read()).rejects.toThrow(ContractError);
    await expect(read()).rejects.toThrow(/answers in an older format/);
    expect(old.asked).toHaveLength(2); // once per read: never retried
  });

  it('the Builds API\'s build with include_test_engine: its jobs and its runs', async () => {
    const build = {
      id: BUILD_ID,
      number: 42,
      state: 'failed',
      web_url: 'https://buildkite.com/my_great_org/shop/builds/42',
      jobs: [
        { id: 'j1', type: 'script', name: 'rspec', step_key: 'rspec', state: 'failed', exit_status: 1, soft_failed: false, retried: true, retried_in_job_id: 'j2', web_url: 'https://buildkite.com/my_great_org/shop/builds/42#j1' },
        { id: 'j2', type: 'script', name: 'rspec', state: 'passed', exit_status: 0, soft_failed: false, retried: false, retried_in_job_id: null },
        { id: 'w', type: 'waiter' },
      ],
      test_engine: { runs: [{ id: RUN_ID, suite: { id: 'suite-uuid', slug: 'my_suite_slug' } }] },
    };
    const { api, asked } = await serve({ '/v2/organizations/my_great_org/pipelines/shop/builds/42': { body: build } });
    const read = await api.getBuild('shop', 42, FAR, 'my_suite_slug');
    expect(asked).toEqual(['/v2/organizations/my_great_org/pipelines/shop/builds/42?include_test_engine=true']);
    expect(read.test_engine?.runs).toEqual([{ id: RUN_ID, suite: { id: 'suite-uuid', slug: 'my_suite_slug' } }]);
    expect(read.jobs?.map((j) => [j.id, j.type, j.state ?? null, j.retried ?? null])).toEqual([['j1', 'script', 'failed', true], ['j2', 'script', 'passed', false], ['w', 'waiter', null, null]]);
  });

  it('a 429 as documented: the user scope rest_user, its limit learnt, the wait its reset', async () => {
    const limited: Answer = {
      status: 429,
      headers: { 'ratelimit-scope': 'rest', 'ratelimit-limit': '200', 'ratelimit-remaining': '150', 'ratelimit-reset': '30', 'ratelimit-user-scope': 'rest_user', 'ratelimit-user-limit': '50', 'ratelimit-user-remaining': '0', 'ratelimit-user-reset': '30', 'ratelimit-user-warning': 'You have reached your rate limit' },
      body: { message: 'You have exceeded your rate limit. Please wait before retrying.', scope: 'rest_user', limit: 50, current: 51, reset: 30 },
    };
    const { api, transport } = await serve({ [`${SUITE}/runs/${RUN_ID}`]: limited });
    await expect(api.getRun('my_suite_slug', RUN_ID, 10_000)).rejects.toThrow(/rate limited \(429\) and the limit resets only after the timeout/);
    expect(transport.budget.exhausted(0)).toEqual({ scope: 'rest_user', waitMs: 30_000 });
    expect(transport.budget.consumers('rest_user')).toBe(75); // 50 × 1.5 for our one request: the window is crowded
  });
});
