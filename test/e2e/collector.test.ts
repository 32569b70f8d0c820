/**
 * The whole chain on what a real test framework produced: vitest runs the fixture project
 * (test/fixtures/collector) with Buildkite's own collector uploading to the simulated Test Engine, the job
 * holding the flaky test runs again as a retried job would, and then `hooks/command` gates that build.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtureBuildJobs, runFixtureBuild } from '../../sim/collector-jobs.js';
import { startFakeTestEngine } from '../../sim/fake-test-engine.js';
import { BUILD_ID, ROOT, TOKEN, fakeBuild, runPlugin, useFakeApi } from '../support/run-plugin.js';

const fake = useFakeApi();
const UPLOAD_TOKEN = 'suite-upload-token-web-000';

describe('real uploads in, real verdict out', () => {
  it('gates a build whose vitest results the real collector uploaded: failures, the multi-line one, the flaky test apart', async () => {
    const builds = [fakeBuild(fixtureBuildJobs())];
    fake.current = await startFakeTestEngine({ org: 'acme', token: TOKEN, suites: [{ slug: 'web', runs: [], uploadToken: UPLOAD_TOKEN }], builds });
    await runFixtureBuild({ buildId: BUILD_ID, uploadToken: UPLOAD_TOKEN, uploadUrl: `${fake.current.url}/v1/uploads` });
    expect(fake.current.requests.filter((q) => q.url === '/v1/uploads').map((q) => q.status)).toEqual([202, 202, 202]);

    const r = await runPlugin({ config: { 'api-url': fake.current.url, 'poll-interval': 0.1, settle: 0.1, timeout: 20 } });
    expect(r.code).toBe(1);
    const body = r.agentCalls.find((c) => c.args[0] === 'annotate')!.stdin;
    // Three tests failed for real; the flaky one failed once and passed on the retry: excused, listed apart.
    expect(body).toContain('<code>web</code> failed — 3 failed tests</h3>');
    expect(body).toContain('<summary><strong>Checkout applies a percentage discount code</strong> · <code>checkout.spec.ts&#58;11</code>');
    expect(body).toContain('— AssertionError &#91;ERR&#95;ASSERTION&#93;&#58; expected the 10% code SAVE10 to take 10.00 off</summary>');
    // The multi-line failure keeps its lines, and vitest's stack frames go into the backtrace block.
    expect(body).toMatch(/<pre>\+ actual - expected[\s\S]*-   shipping: &#39;express&#39;,[\s\S]*<\/pre>\n\n<p><em>Backtrace<\/em><\/p>\n\n<pre>\s+at .*checkout\.spec\.ts:18/);
    expect(body).toMatch(/<h4>Passed on retry — 1 test<\/h4>\n\n<ul>\n<li><a href="[^"]+">Search suggests products as you type<\/a> <code>search\.spec\.ts&#58;6<\/code> · 1 failed \/ 1 passed<\/li>/);
    expect(body).not.toMatch(/<strong>Search suggests/);
    expect(body).not.toContain('charges VAT'); // skipped, not failed
    expect(r.stdout).toMatch(/web: 4 failed executions/);
  }, 60_000);

  it('gates a build whose JUnit file was uploaded the way the test-collector plugin does (multipart)', async () => {
    fake.current = await startFakeTestEngine({ org: 'acme', token: TOKEN, suites: [{ slug: 'web', runs: [], uploadToken: UPLOAD_TOKEN }] });
    const form = new FormData();
    form.set('format', 'junit');
    form.set('data', new Blob([readFileSync(join(ROOT, 'test/fixtures/junit/results.xml'))]), 'results.xml');
    form.set('run_env[CI]', 'buildkite');
    form.set('run_env[key]', BUILD_ID);
    const upload = await fetch(`${fake.current.url}/v1/uploads`, { method: 'POST', headers: { authorization: `Token token="${UPLOAD_TOKEN}"` }, body: form });
    expect(upload.status).toBe(202);

    const r = await runPlugin({ config: { 'api-url': fake.current.url, 'poll-interval': 0.1, settle: 0.1, timeout: 20 } });
    expect(r.code).toBe(1);
    const body = r.agentCalls.find((c) => c.args[0] === 'annotate')!.stdin;
    expect(body).toContain('failed — 2 failed tests</h3>');
    expect(body).toContain('<strong>Checkout applies a &quot;SAVE10&quot; code</strong> · <code>spec/checkout&#95;spec.rb&#58;9</code> · 20 ms — expected&#58; 90.0 &lt;got&gt; 100.0</summary>');
    expect(body).toContain('<strong>Checkout rounds &amp; formats prices</strong>');
  });
});
