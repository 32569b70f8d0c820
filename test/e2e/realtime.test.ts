/**
 * What lives in real time, so it runs the bundle through the hook as the agent would: rate-limit windows
 * shared by several gates, SIGTERM/SIGINT at each phase, and a real proxy. (The fault cases that only wait
 * out backoff run in-process on a fake clock, in faults.test.ts.)
 */
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeTestEngine, type Fault } from '../../sim/fake-test-engine.js';
import { TOKEN, fakeRun, runPlugin, until, useFakeApi } from '../support/run-plugin.js';

const fake = useFakeApi();
const run = fakeRun;
const FAST = { 'poll-interval': 0.1, settle: 0.1, timeout: 20 };
/** SPEC.md asks for a stop within a second (the gate exits by itself after 800 ms); a loaded machine adds to it. */
const STOPPED_WITHIN_MS = 3_000;

describe('rate limits, in real time', () => {
  it('several gates on one token all get the right verdict', async () => {
    fake.current = await startFakeTestEngine({
      org: 'acme',
      token: TOKEN,
      suites: [{ slug: 'web', runs: [run([['running', 'pending'], ['running', 'pending'], ['finished', 'failed']], { failures: 1 })] }],
      rateLimit: { orgLimit: 200, userLimit: 6, windowMs: 1_000 },
    });
    const results = await Promise.all(Array.from({ length: 4 }, () => runPlugin({ config: { 'api-url': fake.current!.url, ...FAST } })));
    expect(results.map((r) => r.code)).toEqual([1, 1, 1, 1]);
  });
});

describe('cancellation', () => {
  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)('%s during a wait stops within a second with exit %i and says what was known', async (signal, code) => {
    fake.current = await startFakeTestEngine({ org: 'acme', token: TOKEN, suites: [{ slug: 'web', runs: [run([['running', 'failed']])] }] });
    let sentAt = 0;
    const r = await runPlugin({
      config: { 'api-url': fake.current.url, 'poll-interval': 30, timeout: 120 },
      onStart: (child) => {
        void until(() => fake.current!.requests.length >= 1).then(async () => {
          await new Promise((res) => setTimeout(res, 200));
          sentAt = performance.now();
          child.kill(signal);
        });
      },
    });
    const stoppedAfterMs = performance.now() - sentAt;
    expect(r.code).toBe(code);
    expect(stoppedAfterMs).toBeLessThan(STOPPED_WITHIN_MS);
    expect(r.stdout).toMatch(new RegExp(`Test Engine gate interrupted by ${signal}`));
    expect(r.stdout).toMatch(/web: waiting; run running, result failed/);
  });

  it.each([
    ['settling a pass', [run([['finished', 'passed']])], { settle: 30 }, [], /web: settling; run finished, result passed/],
    ['listing the failures', [run([['finished', 'failed']], { failures: 3 })], {}, [{ match: /failed_executions/, fault: { kind: 'hang' } } as Fault], /web: fetching failures; run finished, result failed/],
  ] as const)('SIGTERM while %s stops at once with exit 143 and says where it was', async (_, runs, config, faults, known) => {
    fake.current = await startFakeTestEngine({ org: 'acme', token: TOKEN, suites: [{ slug: 'web', runs: [...runs] }], faults: [...faults] });
    const r = await runPlugin({
      config: { 'api-url': fake.current.url, 'poll-interval': 0.1, timeout: 120, ...config },
      onStart: (child) => {
        const wanted = faults.length ? (q: { url: string }) => q.url.includes('failed_executions') : () => true;
        void until(() => fake.current!.requests.some(wanted)).then(async () => {
          await new Promise((res) => setTimeout(res, 200));
          child.kill('SIGTERM');
        });
      },
    });
    expect(r.code).toBe(143);
    expect(r.stdout).toMatch(/Test Engine gate interrupted by SIGTERM/);
    expect(r.stdout).toMatch(known);
  });

  it('SIGTERM while buildkite-agent annotate hangs still ends the step with 143', async () => {
    fake.current = await startFakeTestEngine({ org: 'acme', token: TOKEN, suites: [{ slug: 'web', runs: [run([['finished', 'failed']], { failures: 1 })] }] });
    const r = await runPlugin({
      agent: 'hang',
      config: { 'api-url': fake.current.url, ...FAST, 'flaky-tests': 'fail', 'muted-tests': 'fail' },
      onStart: (child) => {
        void until(() => fake.current!.requests.some((q) => q.url.includes('failed_executions'))).then(async () => {
          await new Promise((res) => setTimeout(res, 500));
          child.kill('SIGTERM');
        });
      },
    });
    expect(r.code).toBe(143);
    expect(r.agentCalls[0]!.args[0]).toBe('annotate');
  });

  it('SIGTERM during a hanging request also stops at once', async () => {
    fake.current = await startFakeTestEngine({ org: 'acme', token: TOKEN, suites: [{ slug: 'web', runs: [] }], faults: [{ match: /runs/, fault: { kind: 'hang' } }] });
    let sentAt = 0;
    const r = await runPlugin({
      config: { 'api-url': fake.current.url, timeout: 120 },
      onStart: (child) => {
        void until(() => fake.current!.requests.length >= 1).then(() => {
          sentAt = performance.now();
          child.kill('SIGTERM');
        });
      },
    });
    expect(r.code).toBe(143);
    expect(performance.now() - sentAt).toBeLessThan(STOPPED_WITHIN_MS);
    expect(r.stdout).toMatch(/web: finding; no run found yet/);
  });
});

describe('proxies', () => {
  let proxy: Server | undefined;
  afterEach(() => new Promise<void>((done) => (proxy ? proxy.close(() => done()) : done())));

  it('goes through HTTP_PROXY, and around it for NO_PROXY hosts', async () => {
    fake.current = await startFakeTestEngine({ org: 'acme', token: TOKEN, suites: [{ slug: 'web', runs: [run([['finished', 'failed']], { failures: 1 })] }] });
    const tunnels: string[] = [];
    proxy = createServer();
    proxy.on('connect', (req, client, head) => {
      tunnels.push(req.url ?? '');
      const [host, port] = (req.url ?? '').split(':');
      const upstream = connect(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client).pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>((done) => proxy!.listen(0, '127.0.0.1', done));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;

    const through = await runPlugin({ config: { 'api-url': fake.current.url, ...FAST }, env: { HTTP_PROXY: proxyUrl, NO_PROXY: '' } });
    expect(through.code).toBe(1);
    expect(tunnels.length).toBeGreaterThan(0);
    expect(tunnels[0]).toBe(new URL(fake.current.url).host);

    tunnels.length = 0;
    const around = await runPlugin({ config: { 'api-url': fake.current.url, ...FAST }, env: { HTTP_PROXY: proxyUrl, NO_PROXY: '127.0.0.1' } });
    expect(around.code).toBe(1);
    expect(tunnels).toEqual([]);
  });
});
