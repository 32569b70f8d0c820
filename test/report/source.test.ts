import { describe, expect, it } from 'vitest';
import { NO_SOURCE, foldLabel, locationIn, parseFrame, projectFrames, repositoryPath, sourceLinker, type SourceContext } from '../../src/report/source.js';

const TRACKED = new Set(['app/models/user.rb', 'spec/models/user_spec.rb', 'test/checkout.spec.ts', 'lib/cart/total.py', 'src/main/java/com/acme/Cart.java', 'README.md']);
const CHECKOUT: SourceContext = { tracked: TRACKED, link: undefined };

describe('repositoryPath: the path relative to the repository root', () => {
  it.each([
    ['/var/lib/buildkite-agent/builds/agent-7/acme/shop/app/models/user.rb', 'app/models/user.rb'],
    ['/buildkite/builds/ip-10-0-1-2-1/acme/shop/spec/models/user_spec.rb', 'spec/models/user_spec.rb'],
    ['file:///home/runner/work/shop/shop/test/checkout.spec.ts', 'test/checkout.spec.ts'],
    ['./spec/models/user_spec.rb', 'spec/models/user_spec.rb'],
    ['/opt/app/lib/cart/total.py', 'lib/cart/total.py'],
    // Relative to another root (a collector's): the one tracked file it ends.
    ['checkout.spec.ts', 'test/checkout.spec.ts'],
  ])('with the checkout: %s → %s (the longest prefix whose remainder is tracked)', (path, expected) => {
    expect(repositoryPath(path, CHECKOUT)).toBe(expected);
  });

  it('with the checkout, a file it does not track is not the project\'s', () => {
    expect(repositoryPath('/usr/lib/ruby/3.3.0/gems/rspec-core-3.13.0/lib/rspec/core/example.rb', CHECKOUT)).toBeUndefined();
    expect(repositoryPath('/work/node_modules/@vitest/runner/dist/index.js', CHECKOUT)).toBeUndefined();
  });

  it('without a checkout: an agent\'s prefix dropped by its shape; dependencies and runtimes are not the project\'s', () => {
    expect(repositoryPath('/var/lib/buildkite-agent/builds/agent-7/acme/shop/app/models/user.rb', NO_SOURCE)).toBe('app/models/user.rb');
    expect(repositoryPath('./spec/models/user_spec.rb', NO_SOURCE)).toBe('spec/models/user_spec.rb');
    for (const path of ['/app/node_modules/@vitest/runner/dist/index.js', '/usr/local/bundle/gems/rspec-core-3.13.0/lib/x.rb', '/usr/lib/python3.12/site-packages/_pytest/python.py', 'node:internal/process/task_queues', '/app/vendor/bundle/x.rb', '/usr/lib/python3.12/unittest/case.py']) {
      expect(repositoryPath(path, NO_SOURCE)).toBeUndefined();
    }
  });
});

describe('parseFrame: Ruby, Node, Python and Java frames', () => {
  it.each([
    ["./spec/models/user_spec.rb:23:in 'block (2 levels) in <top (required)>'", './spec/models/user_spec.rb', 23],
    ['    at Object.<anonymous> (/var/lib/buildkite-agent/builds/a/acme/shop/test/checkout.spec.ts:13:12)', '/var/lib/buildkite-agent/builds/a/acme/shop/test/checkout.spec.ts', 13],
    ['    at file:///home/runner/work/shop/shop/test/checkout.spec.ts:13:12', 'file:///home/runner/work/shop/shop/test/checkout.spec.ts', 13],
    ['  File "/opt/app/lib/cart/total.py", line 41, in total', '/opt/app/lib/cart/total.py', 41],
    ['\tat com.acme.Cart.total(Cart.java:41)', 'Cart.java', 41],
  ])('%s', (raw, path, line) => {
    expect(parseFrame(raw)).toMatchObject({ path, line });
  });

  it('a frame without a file has no path', () => {
    expect(parseFrame('    at new Promise (<anonymous>)').path).toBeUndefined();
  });

  it('a Java frame finds its file by package under any source root', () => {
    const frame = parseFrame('\tat com.acme.Cart.total(Cart.java:41)');
    expect(repositoryPath(frame.path, CHECKOUT, frame.javaClass)).toBe('src/main/java/com/acme/Cart.java');
  });
});

describe('projectFrames: the project\'s frames, each run of others folded', () => {
  it('folds a run of framework frames into one line that counts them and says where', () => {
    const frames = [
      '    at /var/lib/buildkite-agent/builds/agent-2/acme/shop/test/checkout.spec.ts:13:12',
      '    at file:///app/node_modules/@vitest/runner/dist/chunk.js:302:11',
      '    at file:///app/node_modules/@vitest/runner/dist/chunk.js:1903:26',
      '    at new Promise (<anonymous>)',
      '    at runWithTimeout (file:///app/node_modules/@vitest/runner/dist/chunk.js:2272:10)',
      "/usr/local/bundle/gems/rspec-core-3.13.0/lib/rspec/core/example.rb:263:in 'instance_exec'",
      "/var/lib/buildkite-agent/builds/agent-2/acme/shop/app/models/user.rb:41:in 'total'",
    ];
    const shown = projectFrames(frames, CHECKOUT);
    expect(shown.map((f) => (f.kind === 'own' ? f.path : foldLabel(f)))).toEqual([
      'test/checkout.spec.ts',
      '… 5 frames in node_modules/@vitest/runner, native code and elsewhere',
      'app/models/user.rb',
    ]);
    expect(foldLabel({ count: 8, origins: ['node_modules/@vitest/runner'] })).toBe('… 8 frames in node_modules/@vitest/runner');
    expect(foldLabel({ count: 1, origins: ['gem rspec-core'] })).toBe('… 1 frame in gem rspec-core');
  });
});

describe('sourceLinker: a line of the repository at the commit, or no link', () => {
  const SHA = '1c3214fcceb2c14579a2c3c50cd78f1442fd8936';
  it.each([
    ['git@github.com:acme/shop.git', `https://github.com/acme/shop/blob/${SHA}/app/models/user.rb#L41`],
    ['https://github.com/acme/shop.git', `https://github.com/acme/shop/blob/${SHA}/app/models/user.rb#L41`],
    ['ssh://git@github.example.com:2222/acme/shop.git', `https://github.example.com/acme/shop/blob/${SHA}/app/models/user.rb#L41`],
    ['git@gitlab.com:acme/group/shop.git', `https://gitlab.com/acme/group/shop/-/blob/${SHA}/app/models/user.rb#L41`],
    ['https://gitlab.acme.io/acme/shop.git', `https://gitlab.acme.io/acme/shop/-/blob/${SHA}/app/models/user.rb#L41`],
    ['git@bitbucket.org:acme/shop.git', `https://bitbucket.org/acme/shop/src/${SHA}/app/models/user.rb#lines-41`],
    ['https://jane@bitbucket.org/acme/shop.git', `https://bitbucket.org/acme/shop/src/${SHA}/app/models/user.rb#lines-41`],
  ])('%s', (repo, link) => {
    expect(sourceLinker(repo, SHA)!('app/models/user.rb', 41)).toBe(link);
  });

  it('an unknown host, no commit, or a commit that is no SHA: no link', () => {
    expect(sourceLinker('https://git.example.com/acme/shop.git', SHA)).toBeUndefined();
    expect(sourceLinker('git@github.com:acme/shop.git', undefined)).toBeUndefined();
    expect(sourceLinker('git@github.com:acme/shop.git', 'HEAD')).toBeUndefined();
    expect(sourceLinker('github.com:"><script>', SHA)).toBeUndefined();
  });

  it('escapes what a path holds', () => {
    expect(sourceLinker('git@github.com:acme/shop.git', SHA)!('spec/a b#c.rb', 3)).toBe(`https://github.com/acme/shop/blob/${SHA}/spec/a%20b%23c.rb#L3`);
  });
});

describe('locationIn', () => {
  it('takes a test\'s location to the repository, a pytest node id to its file', () => {
    expect(locationIn('./spec/models/user_spec.rb:23', CHECKOUT)).toEqual({ path: 'spec/models/user_spec.rb', line: 23 });
    expect(locationIn('lib/cart/total.py::test_total[eur]', CHECKOUT)).toEqual({ path: 'lib/cart/total.py', line: undefined });
    expect(locationIn('checkout.spec.ts:13:12', CHECKOUT)).toEqual({ path: 'test/checkout.spec.ts', line: 13 });
  });
});
