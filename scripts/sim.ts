/**
 * `npm run sim`: the simulated Test Engine in the foreground, on 127.0.0.1, for people and other tools. Point a
 * real collector at its upload URL and the gate at its API URL:
 *
 *   npm run sim -- --port 4010 --suite web=<upload-token> [--suite api=<token>] --api-token <token>
 *                  [--org acme] [--processing-ms 1000] [--mute web:<test name>]
 */
import { parseArgs } from 'node:util';
import { startFakeTestEngine, type FakeSuite } from '../sim/fake-test-engine.js';

const usage = 'usage: npm run sim -- --port 4010 --suite web=<upload-token> [--suite api=<token>] --api-token <token> [--org acme] [--processing-ms 1000] [--mute web:<test name>]';

function fail(message: string): never {
  console.error(`sim: ${message}\n${usage}`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      port: { type: 'string', default: '4010' },
      suite: { type: 'string', multiple: true, default: [] },
      'api-token': { type: 'string' },
      org: { type: 'string', default: 'acme' },
      'processing-ms': { type: 'string', default: '1000' },
      mute: { type: 'string', multiple: true, default: [] },
    },
    strict: true,
  }));
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}
const port = Number(values.port);
const processingMs = Number(values['processing-ms']);
if (!Number.isInteger(port) || port < 1 || port > 65_535) fail(`--port must be a port number (got ${values.port})`);
if (!Number.isFinite(processingMs) || processingMs < 0) fail(`--processing-ms must be a number of milliseconds (got ${values['processing-ms']})`);
if (!values['api-token']) fail('--api-token is required: the token the gate will send (api-token-env-name)');
if (values.suite.length === 0) fail('name at least one suite: --suite <slug>=<upload token>');
const muted = new Map<string, string[]>();
for (const m of values.mute) {
  const [slug, ...name] = m.split(':');
  if (!slug || name.length === 0) fail(`--mute takes <suite>:<test name> (got ${m})`);
  muted.set(slug, [...(muted.get(slug) ?? []), name.join(':')]);
}
const suites: FakeSuite[] = values.suite.map((s) => {
  const [slug, token] = s.split('=');
  if (!slug || !token) fail(`--suite takes <slug>=<upload token> (got ${s})`);
  return { slug, runs: [], uploadToken: token, mutedNames: muted.get(slug) ?? [] };
});
for (const slug of muted.keys()) if (!suites.some((s) => s.slug === slug)) fail(`--mute names suite "${slug}", which no --suite defines`);

let sim;
try {
  sim = await startFakeTestEngine({ org: values.org, token: values['api-token'], suites, processingMs, port });
} catch (error) {
  fail(`cannot listen on 127.0.0.1:${port} (${error instanceof Error ? error.message : String(error)})`);
}
console.log(`Test Engine sim listening on ${sim.url}`);
console.log(`organization "${values.org}"; suites ${suites.map((s) => `"${s.slug}"`).join(', ')}; uploads are processed in ${processingMs} ms`);
console.log('');
console.log('Point a collector at it (in the test job):');
console.log(`  BUILDKITE_ANALYTICS_BASE_URL=${sim.url}/v1/uploads BUILDKITE_ANALYTICS_TOKEN=<a suite's upload token> BUILDKITE_BUILD_ID=<build uuid> <your test command>`);
console.log('Point the gate at it:');
console.log(`  BUILDKITE_API_TOKEN=<the --api-token> node dist/index.js --api-url ${sim.url} --org ${values.org} --suite-slug ${suites[0]!.slug} --build-id <build uuid>`);
console.log('  (or api-url in the plugin configuration)');
console.log('Ctrl-C stops it.');

let seen = 0;
const report = setInterval(() => {
  const uploads = sim.requests.filter((r) => r.url === '/v1/uploads');
  for (const r of uploads.slice(seen)) console.log(`upload ${r.status === 202 ? 'accepted' : `refused (${r.status})`}`);
  seen = uploads.length;
}, 500);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    clearInterval(report);
    void sim.close().then(() => process.exit(0));
  });
}
