/**
 * The simulated Test Engine's upload API, over HTTP as the collectors use it: what it accepts (checked against
 * a capture of the real JavaScript collector's upload), how it refuses, and how uploads become runs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startFakeTestEngine, type FakeApiOptions } from '../../sim/fake-test-engine.js';
import { ROOT, useFakeApi } from '../support/run-plugin.js';

const fake = useFakeApi();
const UPLOAD_TOKEN = 'suite-upload-token-web';
const BUILD = '0190a3b2-6c1f-7c3e-9a4b-2f1d5e8c7a60';
const CAPTURE = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/collector/upload-capture.json'), 'utf8'));

async function sim(options: Partial<FakeApiOptions> = {}) {
  fake.current = await startFakeTestEngine({ org: 'acme', token: 'api-token-0000000000', suites: [{ slug: 'web', runs: [], uploadToken: UPLOAD_TOKEN }], ...options });
  return fake.current;
}

function post(url: string, body: unknown, token = UPLOAD_TOKEN) {
  return fetch(`${url}/v1/uploads`, {
    method: 'POST',
    headers: { authorization: `Token token="${token}"`, 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const result = (name: string, outcome: string, extra: Record<string, unknown> = {}) => ({ id: crypto.randomUUID(), scope: 'Cart', name, result: outcome, failure_reason: outcome === 'failed' ? `${name} broke` : '', ...extra });
const upload = (key: string, data: unknown[]) => ({ format: 'json', run_env: { ci: 'buildkite', key }, data });

describe('POST /v1/uploads', () => {
  it('accepts exactly what the real JavaScript collector sent (a capture), and serves it as a run', async () => {
    const api = await sim();
    const response = await post(api.url, CAPTURE);
    expect(response.status).toBe(202);
    const answer = (await response.json()) as Record<string, unknown>;
    expect(answer).toMatchObject({ queued: CAPTURE.data.length, skipped: 0, errors: [], run_id: expect.any(String), run_url: expect.stringContaining('/suites/web/runs/') });
    const [run] = api.uploadedRuns('web');
    expect(run!.timeline).toEqual([['finished', 'failed']]);
    expect(run!.failures.map((f) => f.test_name)).toEqual([
      'Checkout applies a percentage discount code',
      'Checkout keeps the order summary in step with the cart',
      'Orders API returns 404 for an unknown order',
    ]);
  });

  it('refuses an unknown upload token with 401', async () => {
    const api = await sim();
    expect((await post(api.url, upload(BUILD, []), 'not-a-suite-token')).status).toBe(401);
    expect(api.uploadedRuns('web')).toEqual([]);
  });

  it.each([
    ['not an object', '[1, 2]', /the body must be a JSON object/],
    ['not JSON', '{"format": ', /the body is not JSON/],
    ['no data array', { format: 'json', run_env: { key: BUILD } }, /data must be an array/],
    ['no run_env.key', { format: 'json', run_env: { ci: 'buildkite' }, data: [] }, /run_env\.key is missing/],
    ['a result without a name', upload(BUILD, [{ result: 'passed' }]), /data\[0\]\.name is missing/],
    ['an unknown result', upload(BUILD, [result('a', 'passed'), result('b', 'exploded')]), /data\[1\]\.result must be one of passed, failed, skipped, pending \(got "exploded"\)/],
  ])('refuses a body with %s: 422 with the reason, and adds nothing', async (_, body, reason) => {
    const api = await sim();
    const response = await post(api.url, body);
    expect(response.status).toBe(422);
    const { errors } = (await response.json()) as { errors: string[] };
    expect(errors.join('\n')).toMatch(reason);
    expect(api.uploadedRuns('web')).toEqual([]);
  });

  it('puts chunks of one build into one run, and keeps two builds apart', async () => {
    const api = await sim();
    await post(api.url, upload(BUILD, [result('a', 'passed'), result('b', 'failed')]));
    await post(api.url, upload(BUILD, [result('c', 'failed')]));
    await post(api.url, upload('other-build', [result('a', 'passed')]));
    const runs = api.uploadedRuns('web');
    expect(runs.map((r) => [r.buildId, r.uploaded])).toEqual([
      [BUILD, 3],
      ['other-build', 1],
    ]);
    expect(runs[0]!.failures).toHaveLength(2);
    expect(runs[1]!.timeline).toEqual([['finished', 'passed']]);
  });

  it('counts a test uploaded twice (a retried job) as two executions of one test', async () => {
    const api = await sim();
    await post(api.url, upload(BUILD, [result('flaky', 'failed', { location: 'cart.spec.ts:3' })]));
    await post(api.url, upload(BUILD, [result('flaky', 'passed', { location: 'cart.spec.ts:3' })]));
    const tests = await (await fetch(`${api.url}/v2/analytics/organizations/acme/builds/${BUILD}/tests?tags=result:~failed`, { headers: { authorization: 'Bearer api-token-0000000000' } })).json();
    expect(tests).toEqual([expect.objectContaining({ name: 'Cart flaky', executions_count_by_result: { passed: 1, failed: 1 } })]);
  });

  it('keeps a run running while its uploads are processed, and a later upload sends it back to running', async () => {
    let now = 1_000;
    const api = await sim({ processingMs: 300, staleAfterMs: 5_000, now: () => now });
    await post(api.url, upload(BUILD, [result('a', 'passed')]));
    const [run] = api.uploadedRuns('web');
    expect(run!.timeline).toEqual([['running', 'pending']]);
    now += 300;
    expect(run!.timeline).toEqual([['finished', 'passed']]);
    await post(api.url, upload(BUILD, [result('b', 'failed')]));
    expect(run!.timeline).toEqual([['running', 'passed']]);
    now += 300;
    expect(run!.timeline).toEqual([['finished', 'failed']]);
    // Failed is final: a later passing upload changes the state, never the result.
    await post(api.url, upload(BUILD, [result('c', 'passed')]));
    now += 300;
    expect(run!.timeline).toEqual([['finished', 'failed']]);
  });

  it('marks a run stale when it finished without any result for staleAfterMs', async () => {
    let now = 1_000;
    const api = await sim({ staleAfterMs: 5_000, now: () => now });
    await post(api.url, upload(BUILD, [result('later', 'skipped')]));
    const [run] = api.uploadedRuns('web');
    expect(run!.timeline).toEqual([['finished', 'pending']]);
    now += 5_001;
    expect(run!.timeline).toEqual([['finished', 'stale']]);
  });

  it('takes multipart JUnit as the test-collector plugin sends it with curl, entities decoded', async () => {
    const api = await sim();
    const form = new FormData();
    form.set('format', 'junit');
    form.set('data', new Blob([readFileSync(join(ROOT, 'test/fixtures/junit/results.xml'))]), 'results.xml');
    form.set('run_env[CI]', 'buildkite');
    form.set('run_env[key]', BUILD);
    const response = await fetch(`${api.url}/v1/uploads`, { method: 'POST', headers: { authorization: `Token token="${UPLOAD_TOKEN}"` }, body: form });
    expect(response.status).toBe(202);
    const [run] = api.uploadedRuns('web');
    expect(run!.uploaded).toBe(4);
    expect(run!.failures).toEqual([
      expect.objectContaining({
        test_name: 'Checkout applies a "SAVE10" code',
        location: './spec/checkout_spec.rb:9',
        failure_reason: 'expected: 90.0 <got> 100.0',
        failure_expanded: [{ expanded: ['Failure/Error: expect(cart.total).to eq(90.0)', "./spec/checkout_spec.rb:10:in 'block (2 levels)'"], backtrace: [] }],
      }),
      expect.objectContaining({ test_name: 'Checkout rounds & formats prices', failure_reason: "NoMethodError: undefined method 'round' for nil" }),
    ]);
  });

  it('refuses multipart without a format or data, with the reason', async () => {
    const api = await sim();
    const form = new FormData();
    form.set('run_env[key]', BUILD);
    const response = await fetch(`${api.url}/v1/uploads`, { method: 'POST', headers: { authorization: `Token token="${UPLOAD_TOKEN}"` }, body: form });
    expect(response.status).toBe(422);
    expect(((await response.json()) as { errors: string[] }).errors).toEqual(['format must be junit or json (got null)']);
  });
});
