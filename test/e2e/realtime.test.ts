/**
 * What lives in real time, so it runs the bundle through the hook as the agent would: rate-limit windows
 * shared by several gates, and a real proxy. (Signals are in signals.test.ts; the fault cases that only wait
 * out backoff run in-process on a fake clock, in faults.test.ts.)
 */
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeTestEngine } from '../../sim/fake-test-engine.js';
import { TOKEN, fakeRun, runPlugin, useFakeApi } from '../support/run-plugin.js';

const fake = useFakeApi();
const run = fakeRun;
const FAST = { 'poll-interval': 0.1, settle: 0.1, timeout: 20 };

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
