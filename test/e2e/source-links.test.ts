/**
 * Pointing at the line that broke (SPEC.md step 6), end to end through the hook in a git checkout of its own:
 * paths relative to the repository whatever agent ran the tests, the project's frames shown and linked to the
 * repository at the commit, the frameworks' folded with their counts.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeTestEngine, type FakeFailure } from '../../sim/fake-test-engine.js';
import { BUILD_ID, TOKEN, fakeRun, runPlugin, useFakeApi } from '../support/run-plugin.js';

const fake = useFakeApi();
const SHA = '1c3214fcceb2c14579a2c3c50cd78f1442fd8936';
const BLOB = `https://github.com/acme/shop/blob/${SHA}`;
let checkout: string;

beforeAll(() => {
  checkout = mkdtempSync(join(tmpdir(), 'teg-checkout-'));
  for (const file of ['app/models/user.rb', 'spec/models/user_spec.rb', 'test/checkout.spec.ts']) {
    mkdirSync(join(checkout, dirname(file)), { recursive: true });
    writeFileSync(join(checkout, file), '# a file of the project\n');
  }
  execFileSync('git', ['init', '-q'], { cwd: checkout });
  execFileSync('git', ['add', '.'], { cwd: checkout });
});
afterAll(() => rmSync(checkout, { recursive: true, force: true }));

const AGENT_7 = '/var/lib/buildkite-agent/builds/agent-7/acme/shop';
const AGENT_3 = '/var/lib/buildkite-agent/builds/agent-3/acme/shop';
const RUBY: FakeFailure = {
  test_id: 'ruby',
  test_name: 'User totals the cart',
  location: './spec/models/user_spec.rb:23',
  failure_reason: 'expected 90, got 100',
  failure_expanded: [
    {
      expanded: ['Failure/Error: expect(user.total).to eq(90)'],
      backtrace: [
        `${AGENT_7}/app/models/user.rb:41:in 'total'`,
        "/usr/local/bundle/gems/rspec-core-3.13.0/lib/rspec/core/example.rb:263:in 'instance_exec'",
        "/usr/local/bundle/gems/rspec-core-3.13.0/lib/rspec/core/example.rb:511:in 'block in run'",
        "/usr/local/bundle/gems/rspec-core-3.13.0/lib/rspec/core/hooks.rb:486:in 'run'",
        `${AGENT_7}/spec/models/user_spec.rb:23:in 'block (2 levels)'`,
      ],
    },
  ],
};
/** The JavaScript collector's shape: the stack in `expanded`, no backtrace, a location relative to vitest's root. */
const VITEST: FakeFailure = {
  test_id: 'vitest',
  test_name: 'Checkout applies a discount',
  location: 'checkout.spec.ts:11',
  failure_reason: 'AssertionError: expected 90',
  failure_expanded: [
    {
      expanded: [
        'AssertionError: expected 90',
        `    at ${AGENT_3}/test/checkout.spec.ts:13:12`,
        ...Array.from({ length: 6 }, (_, i) => `    at file://${AGENT_3}/node_modules/@vitest/runner/dist/chunk.js:${300 + i}:11`),
        '    at new Promise (<anonymous>)',
        `    at runWithTimeout (file://${AGENT_3}/node_modules/@vitest/runner/dist/chunk.js:2272:10)`,
      ],
    },
  ],
};

async function gate(config: Record<string, unknown> = {}, failures: FakeFailure[] = [RUBY, VITEST]) {
  fake.current = await startFakeTestEngine({ org: 'acme', token: TOKEN, suites: [{ slug: 'web', runs: [fakeRun([['finished', 'failed']], { failures })] }] });
  const r = await runPlugin({
    cwd: checkout,
    config: { 'api-url': fake.current.url, 'suite-slug': 'web', 'poll-interval': 0.1, settle: 0, timeout: 10, ...config },
    env: { BUILDKITE_REPO: 'git@github.com:acme/shop.git', BUILDKITE_COMMIT: SHA, BUILDKITE_BUILD_NUMBER: undefined, BUILD_ID },
  });
  return { ...r, annotation: r.agentCalls.find((c) => c.args[0] === 'annotate')!.stdin };
}

describe('point at the line that broke', () => {
  it('links the location and the project\'s frames at the commit, folds the gems and node_modules, shows no agent path', async () => {
    const r = await gate();
    expect(r.code).toBe(1);
    const body = r.annotation;
    expect(body).toContain(`<a href="${BLOB}/spec/models/user_spec.rb#L23"><code>spec/models/user&#95;spec.rb&#58;23</code></a>`);
    expect(body).toContain(`<a href="${BLOB}/app/models/user.rb#L41">app/models/user.rb:41</a>:in &#39;total&#39;`);
    expect(body).toContain('… 3 frames in gem rspec-core');
    expect(body).toContain(`<a href="${BLOB}/spec/models/user_spec.rb#L23">spec/models/user_spec.rb:23</a>`);
    // The vitest failure: its location relative to another root, its frames in `expanded` under another agent's.
    expect(body).toContain(`<a href="${BLOB}/test/checkout.spec.ts#L11"><code>test/checkout.spec.ts&#58;11</code></a>`);
    expect(body).toContain(`    at <a href="${BLOB}/test/checkout.spec.ts#L13">test/checkout.spec.ts:13</a>:12`);
    expect(body).toMatch(/… 8 frames in node_modules\/@vitest\/runner and native code/);
    expect(body).not.toContain('/var/lib/buildkite-agent');
    expect(r.stdout).toMatch(/✗ User totals the cart \(spec\/models\/user_spec\.rb:23\)/);
  });

  it('source-links: false keeps the paths relative and links nothing', async () => {
    const r = await gate({ 'source-links': false });
    expect(r.annotation).not.toContain('github.com/acme/shop');
    expect(r.annotation).toContain('app/models/user.rb:41');
    expect(r.annotation).not.toContain('/var/lib/buildkite-agent');
  });

  it('escapes a hostile path like any other test text', async () => {
    const hostile: FakeFailure = { ...RUBY, location: './spec/models/user_spec.rb:23"><img src=x onerror=alert(1)>', failure_expanded: [{ backtrace: [`${AGENT_7}/app/models/user.rb:41:in '<script>alert(1)</script>'`] }] };
    const r = await gate({}, [hostile]);
    expect(r.annotation).not.toMatch(/<img|<script/);
    expect(r.annotation).toContain('&lt;script&gt;');
  });
});
