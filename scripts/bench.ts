/**
 * `npm run bench`: what the gate costs, measured against the simulated Test Engine API on 127.0.0.1 with the
 * bundled program run as a subprocess, the way the agent runs it. Prints one table (medians of several
 * runs) with each figure next to its target. Not a test: nothing here fails on a slow machine.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, openSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { startFakeTestEngine, type FakeApiOptions, type FakeBuild, type FakeRun } from '../sim/fake-test-engine.js';
import { budgetRuns, budgetToken, shareBudget, tallyVerdicts, traceBySecond, type SharedBudgetCase } from '../sim/virtual-gates.js';

const BUNDLE = resolve('dist/index.js');
const HOOK = resolve('hooks/command');
const TOKEN = 'bkua_bench_0000000000000000000000000000000000';
const BUILD = '0190a3b2-6c1f-7c3e-9a4b-2f1d5e8c7a60';
const work = mkdtempSync(join(tmpdir(), 'teg-bench-'));

// A stand-in buildkite-agent that keeps the annotation, and a probe that reports a process's peak RSS.
const bin = join(work, 'bin');
mkdirSync(bin);
writeFileSync(join(bin, 'buildkite-agent'), `#!/usr/bin/env bash\ncat > "${work}/annotation-$$.md"\n`);
chmodSync(join(bin, 'buildkite-agent'), 0o755);
const probe = join(work, 'rss-probe.mjs');
writeFileSync(probe, "import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => writeFileSync(process.env.RSS_PROBE_FILE, String(process.resourceUsage().maxRSS)));\n");

/** `npm run bench -- 3 5` runs only those cases. */
const only = process.argv.slice(2);
const wanted = (n: number) => only.length === 0 || only.includes(String(n));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => `${Math.round(x)} ms`;

interface Run {
  code: number | null;
  ms: number;
  rssKb?: number;
}

function run(command: string, args: string[], env: Record<string, string> = {}, measureRss = false, logName?: string): Promise<Run> {
  const rssFile = join(work, `rss-${Math.random()}`);
  const started = performance.now();
  // BENCH_TRACE=dir keeps each gate's log there.
  const log = logName && process.env.BENCH_TRACE ? openSync(join(process.env.BENCH_TRACE, `${logName}.log`), 'w') : 'ignore';
  const child = spawn(command, args, {
    cwd: work,
    stdio: ['ignore', log, log],
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      HOME: process.env.HOME ?? '/',
      ...(measureRss ? { NODE_OPTIONS: `--import=${probe}`, RSS_PROBE_FILE: rssFile } : {}),
      ...env,
    },
  });
  return new Promise((done) =>
    child.on('close', (code) => {
      const result: Run = { code, ms: performance.now() - started };
      if (measureRss) result.rssKb = Number(readFileSync(rssFile, 'utf8'));
      done(result);
    }),
  );
}

function pluginEnv(apiUrl: string, config: Record<string, unknown>, buildId = BUILD, buildNumber?: number): Record<string, string> {
  return {
    BUILDKITE: 'true',
    ...(buildNumber ? { BUILDKITE_BUILD_NUMBER: String(buildNumber), BUILDKITE_JOB_ID: GATE_JOB } : {}),
    BUILDKITE_ORGANIZATION_SLUG: 'acme',
    BUILDKITE_PIPELINE_SLUG: 'web',
    BUILDKITE_BUILD_ID: buildId,
    BUILDKITE_API_TOKEN: TOKEN,
    BUILDKITE_PLUGIN_CONFIGURATION: JSON.stringify({ 'api-url': apiUrl, ...config }),
  };
}

/** Build 42 for the Builds API: its test job failed and was retried, and the retry passed. */
const GATE_JOB = '0190a3b2-0000-4000-8000-00000000c0de';
const RETRIED_BUILD: FakeBuild = {
  pipeline: 'web',
  number: 42,
  id: BUILD,
  jobs: [
    { id: 'j1', name: 'rspec', state: 'failed', retried: true, retried_in_job_id: 'j2' },
    { id: 'j2', name: 'rspec', state: 'passed' },
    { id: GATE_JOB, name: 'Test Engine gate', state: 'running' },
  ],
};
/** The same build whose test job failed for good. */
const FAILED_BUILD: FakeBuild = { ...RETRIED_BUILD, jobs: [{ id: 'j1', name: 'rspec', state: 'failed' }, { id: GATE_JOB, name: 'Test Engine gate', state: 'running' }] };

const api = (runs: FakeRun[], extra: Partial<FakeApiOptions> = {}) => startFakeTestEngine({ org: 'acme', token: TOKEN, suites: [{ slug: 'web', runs }], ...extra });
const rows: string[][] = [];
const row = (figure: string, value: string, target: string, ok: boolean | undefined) =>
  rows.push([figure, value, target, ok === undefined ? '' : ok ? '✓' : '✗']);

// 1. Overhead over the physical limit: the same requests, by the gate and by plain fetch, each against its own
// server so that each side's requests are counted apart.
if (wanted(1)) {
  const runs: FakeRun[] = [{ id: 'r1', buildId: BUILD, timeline: [['finished', 'passed']] }];
  const gateServer = await api(runs);
  const plainServer = await api(runs);
  const baseline = join(work, 'baseline.mjs');
  writeFileSync(
    baseline,
    `const r = await fetch('${plainServer.url}/v2/analytics/organizations/acme/suites/web/runs?build_id=${BUILD}', { headers: { authorization: 'Bearer ${TOKEN}' } });\nconst runs = await r.json();\nprocess.exitCode = runs[0].result === 'passed' ? 0 : 1;\n`,
  );
  const gate: number[] = [];
  const hook: number[] = [];
  const plain: number[] = [];
  const ROUNDS = 9;
  for (let i = 0; i < ROUNDS; i++) {
    gate.push((await run(process.execPath, [BUNDLE, '--buildkite-plugin'], pluginEnv(gateServer.url, { settle: 0 }))).ms);
    hook.push((await run('bash', [HOOK], pluginEnv(gateServer.url, { settle: 0 }))).ms);
    plain.push((await run(process.execPath, [baseline])).ms);
  }
  const gateRequests = gateServer.requests.length / (2 * ROUNDS);
  const plainRequests = plainServer.requests.length / ROUNDS;
  await gateServer.close();
  await plainServer.close();
  const ratio = median(gate) / median(plain);
  row('1. finished+passed run (settle 0): node dist/index.js', ms(median(gate)), '', undefined);
  row('   the same request with plain fetch', ms(median(plain)), '', undefined);
  row('   overhead ratio', ratio.toFixed(2), '≤ 1.2', ratio <= 1.2);
  row('   through hooks/command (bash, and node --version to pick node or Docker)', `${ms(median(hook))} (${(median(hook) / median(plain)).toFixed(2)}×)`, '', undefined);
  row('   requests: gate / plain fetch', `${gateRequests} / ${plainRequests}`, '1 / 1', gateRequests === 1 && plainRequests === 1);
}

// 2. Start-up, and what the Buildkite path parses: the shipped dist/index.js, measured with the same esbuild
// options that build it (scripts/build-options.mjs), so the figures are those of the file that ships.
if (wanted(2)) {
  const version: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < 15; i++) {
    version.push((await run(process.execPath, [BUNDLE, '--version'])).ms);
    bare.push((await run(process.execPath, ['-e', '0'])).ms);
  }
  // A busy machine only adds time, and unevenly (the ratio of the medians ranged from 1.22 to 1.79 in one hour):
  // the fastest of each is the start-up least disturbed.
  const ratio = Math.min(...version) / Math.min(...bare);
  row('2. node dist/index.js --version: median, fastest of 15', `${ms(median(version))}, ${ms(Math.min(...version))}`, '', undefined);
  row('   node -e 0', `${ms(median(bare))}, ${ms(Math.min(...bare))}`, '', undefined);
  row('   start-up ratio, fastest to fastest', ratio.toFixed(2), '≤ 1.5', ratio <= 1.5);

  const { indexBuild } = await import(pathToFileURL(resolve('scripts/build-options.mjs')).href);
  const result = await build({ ...indexBuild, write: false, metafile: true, logLevel: 'silent' });
  const metafile = result.metafile!;
  const outputFiles = result.outputFiles!;
  const js = outputFiles.find((f) => f.path.endsWith('index.js'))!;
  const shipped = readFileSync(BUNDLE);
  const byPackage = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(metafile.outputs[Object.keys(metafile.outputs).find((k) => k.endsWith('index.js'))!]!.inputs)) {
    const name = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1] ?? 'test-engine-gate';
    byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
  }
  const parts = [...byPackage].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${Math.round(v / 1024)} KB`);
  row('   dist/index.js, parsed on the Buildkite path', `${Math.round(shipped.length / 1024)} KB (${parts.join(', ')})`, 'no @actions/*', ![...byPackage.keys()].some((k) => k.startsWith('@actions/')));
  row('   the measured build is the shipped file', Buffer.compare(Buffer.from(js.contents), shipped) === 0 ? 'byte-identical' : 'DIFFERS: run npm run build', 'identical', Buffer.compare(Buffer.from(js.contents), shipped) === 0);
  row('   dist/actions-core.cjs, required only by the Action', `${Math.round(statSync(resolve('dist/actions-core.cjs')).size / 1024)} KB`, '', undefined);
}

// 3. Scale: the requests do not grow with the failures; the annotation stays under 1 MiB.
for (const failures of wanted(3) ? [1_000, 100_000, 1_000_000] : []) {
  const times: number[] = [];
  const rss: number[] = [];
  let requests = 0;
  let bytes = 0;
  for (let i = 0; i < 3; i++) {
    const server = await api([{ id: 'r1', buildId: BUILD, timeline: [['finished', 'failed']], failures }]);
    for (const f of readdirSync(work)) if (f.startsWith('annotation-')) rmSync(join(work, f));
    const r = await run('bash', [HOOK], pluginEnv(server.url, {}), true);
    times.push(r.ms);
    rss.push(r.rssKb! / 1024);
    requests = server.requests.length;
    const annotation = readdirSync(work).find((f) => f.startsWith('annotation-'));
    bytes = annotation ? statSync(join(work, annotation)).size : 0;
    await server.close();
  }
  const label = failures.toLocaleString('en-US');
  row(`3. ${label} failed executions: wall time`, ms(median(times)), failures === 1_000_000 ? '≤ 2 s' : '', failures === 1_000_000 ? median(times) <= 2_000 : undefined);
  row('   peak RSS', `${median(rss).toFixed(0)} MB`, failures === 1_000_000 ? '≤ 150 MB' : '', failures === 1_000_000 ? median(rss) <= 150 : undefined);
  row('   requests (run list, first and last failure pages, 2 of Build tests)', String(requests), '≤ 10', requests <= 10);
  row('   annotation', `${bytes.toLocaleString('en-US')} bytes`, '< 1 MiB', bytes < 1024 * 1024);
}

// 4. Polling cost: a run that finishes after 120 simulated seconds, at 20× speed (poll 5 s → 0.25 s).
if (wanted(4)) {
  const SPEED = 20;
  const finishMs = 120_000 / SPEED;
  const pollMs = 5_000 / SPEED;
  const latency: number[] = [];
  const requests: number[] = [];
  for (let i = 0; i < 3; i++) {
    const server = await api([{ id: 'r1', buildId: BUILD, timeline: [['running', 'pending']], schedule: [[0, 'running', 'pending'], [finishMs / 2, 'running', 'passed'], [finishMs, 'finished', 'passed']] }], { latencyMs: 20 });
    const started = Date.now();
    await run(process.execPath, [BUNDLE, '--buildkite-plugin'], pluginEnv(server.url, { 'poll-interval': pollMs / 1000, settle: 0 }));
    latency.push(Date.now() - started - finishMs);
    requests.push(server.requests.length);
    await server.close();
  }
  row('4. run finishing after 120 s (simulated), poll 5 s: requests', String(median(requests)), '≈ 120 / 5 + 1', undefined);
  row('   decision latency after finished (simulated)', ms(median(latency) * SPEED), '≤ 5 s poll + 1 round trip', median(latency) <= pollMs + 20 + 150);
}

interface Targets {
  slowestMs: number;
  max429: number;
}

/** A figure's target column and whether it is met; a case the issue sets no target for prints "none set". */
function within(target: number | undefined, value: number, say: (t: number) => string): [string, boolean | undefined] {
  return target === undefined ? ['none set', undefined] : [say(target), value <= target];
}

/**
 * Many gates sharing a rate-limit budget, as an organization's pipelines do with one bot token: every run
 * finishes at 6 s, half of them failed; the server enforces the per-token and per-organization windows
 * (scaled from a minute to 10 s) and reports both header pairs. Poll every 1 s, settle 0. With BENCH_TRACE=dir
 * each gate's log is kept there (`5-gate-0.log`, `6s-gate-0.log`, …) and the requests are printed second by
 * second (f find, p poll, F failed executions, M muted tests, B failing tests, x 429).
 */
async function sharedBudget(
  label: string,
  gates: number,
  tokens: number,
  limits: { orgLimit: number; userLimit: number },
  targets: Targets | undefined,
  excuses = true,
) {
  const runs = budgetRuns(gates);
  const tokenOf = (i: number) => budgetToken(TOKEN, i, gates, tokens);
  const config = { 'poll-interval': 1, settle: 0, timeout: 120, ...(excuses ? {} : { 'flaky-tests': 'fail', 'muted-tests': 'fail' }) };
  const server = await api(runs, { rateLimit: { ...limits, windowMs: 10_000 }, moreTokens: Array.from({ length: tokens }, (_, t) => `${TOKEN}_${t}`) });
  const results = await Promise.all(
    runs.map((r, i) => run(process.execPath, [BUNDLE, '--buildkite-plugin'], { ...pluginEnv(server.url, config, r.buildId), BUILDKITE_API_TOKEN: tokenOf(i) }, false, `${label.split('.')[0]}-gate-${i}`)),
  );
  const { wrong, undecided: failedOn429 } = tallyVerdicts(results.map((r) => r.code), runs);
  const slowest = Math.max(...results.map((r) => r.ms));
  // The least any pacing could do: a passed gate needs 2 requests (find, the poll that sees it finished), a
  // failed one also its failed executions and, with step 5b, 2 Build tests reads. The first window serves at
  // most `limit` of the finds; a gate that finds its run later sees it finished, and a passed one then needs
  // no poll. With no request lost, the last one falls in window ⌈requests ÷ limit⌉.
  const needed = (gates / 2) * 2 + (gates / 2) * (excuses ? 5 : 3);
  const limit = Math.min(limits.orgLimit, limits.userLimit * tokens);
  const least = needed - Math.min(Math.max(0, gates - limit), gates / 2);
  const floorS = (Math.ceil(least / limit) - 1) * 10;
  row(`${label}: slowest decision (runs finish at 6 s)`, ms(slowest), ...within(targets?.slowestMs, slowest, (t) => `≤ ${t / 1000} s`));
  const requests = needed === least ? `${needed} requests` : `${least}–${needed} requests`;
  row(`   the budget's floor: ${requests} at ${limit} a 10 s window, none lost`, `> ${floorS} s`, '', undefined);
  row('   responses of 429', String(server.rateLimited()), ...within(targets?.max429, server.rateLimited(), (t) => `≤ ${t}`));
  row('   wrong verdicts / gates that did not decide', `${wrong} / ${failedOn429}`, '0 / 0', wrong === 0 && failedOn429 === 0);
  row('   requests in all', String(server.requests.length), '', undefined);
  if (process.env.BENCH_TRACE) {
    for (const line of traceBySecond(server.requests, Math.min(...server.requests.map((q) => q.at)))) console.error(line);
  }
  await server.close();
}

// 5. Twenty gates on one token: 50 requests a 10-second window.
if (wanted(5)) await sharedBudget('5. 20 gates, one token, 50 req / 10 s', 20, 1, { orgLimit: 1_000, userLimit: 50 }, { slowestMs: 15_000, max429: 20 });

// 6. Forty gates on four tokens under an organization limit: 200/min and 50/min scaled to 10 s. The issue
// puts what the budget alone allows at "about 27 s": the 94–100 requests of a build whose failed runs take one
// failure read each (flaky-tests and muted-tests: fail), whose last falls in the third window. With step 5b
// (the defaults) each failed run also reads Build tests twice: 134–140 requests, whose last falls in the
// fourth window at the earliest, past 30 s. The issue sets no target for that build; 6s prints it next to
// its floor.
if (wanted(6)) {
  const limits = { orgLimit: 34, userLimit: 9 };
  await sharedBudget('6. 40 gates, 4 tokens, 34 org / 9 token req / 10 s, no step 5b', 40, 4, limits, { slowestMs: 40_000, max429: 40 }, false);
  await sharedBudget('6s. the same with step 5b (flaky-tests, muted-tests: pass)', 40, 4, limits, undefined);
}

/**
 * The same cases in virtual time (sim/virtual-gates.ts): `run()` of each gate in one process, one clock that
 * moves only when every gate sleeps, requests 5–45 ms on the way. No machine noise: medians and ranges over
 * seeds 1…n, so that two pacing codes compare on the same builds. The subprocess rows above are what ships.
 */
async function virtualBudget(label: string, c: SharedBudgetCase, targets: Targets | undefined, seeds = 10) {
  const outcomes = [];
  for (let seed = 1; seed <= seeds; seed++) outcomes.push(await shareBudget({ ...c, seed }));
  const slowest = outcomes.map((o) => o.slowestMs);
  const refused = outcomes.map((o) => o.rateLimited);
  const range = (xs: number[], f: (x: number) => string) => `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;
  const s = (x: number) => `${(x / 1000).toFixed(1)} s`;
  row(`${label}, virtual time, ${seeds} seeds: slowest decision, median (range)`, range(slowest, s), ...within(targets?.slowestMs, median(slowest), (t) => `≤ ${t / 1000} s`));
  row('   responses of 429, median (range)', range(refused, String), ...within(targets?.max429, median(refused), (t) => `≤ ${t}`));
  const wrong = outcomes.reduce((n, o) => n + o.wrong, 0);
  const undecided = outcomes.reduce((n, o) => n + o.undecided, 0);
  row('   wrong verdicts / gates that did not decide, over all seeds', `${wrong} / ${undecided}`, '0 / 0', wrong === 0 && undecided === 0);
}
if (wanted(5)) await virtualBudget('5v. 20 gates, one token', { gates: 20, tokens: 1, orgLimit: 1_000, userLimit: 50 }, { slowestMs: 15_000, max429: 20 });
if (wanted(6)) {
  const c = { gates: 40, tokens: 4, orgLimit: 34, userLimit: 9 };
  await virtualBudget('6v. 40 gates, 4 tokens, no step 5b', { ...c, excuses: false }, { slowestMs: 40_000, max429: 40 });
  await virtualBudget('6sv. the same with step 5b', c, undefined);
  // Every run passed: 74–80 requests, three windows; the case 6 targets apply as they stand.
  await virtualBudget('6pv. the same, every run passed', { ...c, allPass: true }, { slowestMs: 40_000, max429: 40 });
}

// 9. Latency: how soon a lone gate with the default options decides once its run has finished, through the hook.
// The build's other jobs are done (no settle wait), or one is still running and uploads a failure late.
if (wanted(9)) {
  const gateJob = { id: GATE_JOB, name: 'Test Engine gate', state: 'running' };
  const latency = async (result: 'passed' | 'failed', lateFailure = false) => {
    const delays: number[] = [];
    const codes: (number | null)[] = [];
    for (let i = 0; i < 10; i++) {
      // The run finishes at a random moment, so that the poll falls anywhere in its interval.
      const finishMs = 1_000 + Math.round(Math.random() * 2_000);
      const schedule: [number, 'running' | 'finished', 'pending' | 'passed' | 'failed'][] = [[0, 'running', 'pending'], [finishMs, 'finished', result]];
      const jobs: FakeBuild['jobs'] = [{ id: 'j1', name: 'rspec', state: 'passed' }, gateJob];
      let decidedFrom = finishMs;
      if (lateFailure) {
        // A slow integration job uploads a failure 2 s after the run first read finished and passed, and ends.
        schedule.push([finishMs + 2_000, 'running', 'failed'], [finishMs + 2_500, 'finished', 'failed']);
        jobs.push({ id: 'j2', name: 'integration', state: 'running', schedule: [[0, 'running'], [finishMs + 3_000, 'failed']] });
        decidedFrom = finishMs + 3_000;
      }
      const server = await api([{ id: 'r1', buildId: BUILD, timeline: [['running', 'pending']], schedule, failures: result === 'failed' || lateFailure ? 3 : 0 }], {
        builds: [{ ...RETRIED_BUILD, jobs }],
      });
      const t0 = performance.now();
      const r = await run('bash', [HOOK], pluginEnv(server.url, {}, BUILD, 42));
      delays.push(performance.now() - t0 - decidedFrom);
      codes.push(r.code);
      await server.close();
    }
    return { delays, codes };
  };
  const worst = (xs: number[]) => Math.max(...xs);
  const passed = await latency('passed');
  row('9. latency, defaults, through the hook: a passed run, every other job done — finish to exit, median / worst of 10', `${ms(median(passed.delays))} / ${ms(worst(passed.delays))}`, '≤ 1.5 s / ≤ 2.5 s', median(passed.delays) <= 1_500 && worst(passed.delays) <= 2_500);
  row('   verdicts', passed.codes.every((c) => c === 0) ? 'exit 0 every time' : passed.codes.join(' '), 'exit 0', passed.codes.every((c) => c === 0));
  const failed = await latency('failed');
  row('   a failed run — finish to exit, median / worst of 10', `${ms(median(failed.delays))} / ${ms(worst(failed.delays))}`, '≤ 1.5 s / ≤ 3 s', median(failed.delays) <= 1_500 && worst(failed.delays) <= 3_000);
  row('   verdicts', failed.codes.every((c) => c === 1) ? 'exit 1 every time' : failed.codes.join(' '), 'exit 1', failed.codes.every((c) => c === 1));
  const late = await latency('passed', true);
  row('   a job still running uploads a failure after the run read passed — its end to exit, median / worst', `${ms(median(late.delays))} / ${ms(worst(late.delays))}`, '', undefined);
  row('   verdicts', late.codes.every((c) => c === 1) ? 'exit 1 every time' : late.codes.join(' '), 'exit 1 every time', late.codes.every((c) => c === 1));
}

// 7 and 8. Step 5b's Build tests reads stay O(1) in the common case; the Builds API read is counted apart.
const buildTestRequests = (server: { requests: { url: string }[] }) =>
  server.requests.filter((q) => q.url.includes('/analytics/organizations/acme/builds/') && !q.url.includes('build.job_id')).length;
/** One Build tests read per final job that did not pass (its failed tests), apart: the cost allows one each. */
const jobRequests = (server: { requests: { url: string }[] }) => server.requests.filter((q) => q.url.includes('build.job_id')).length;
const buildsApiRequests = (server: { requests: { url: string }[] }) => server.requests.filter((q) => q.url.startsWith('/v2/organizations/')).length;
if (wanted(7)) {
  const withExcuses: number[] = [];
  const without: number[] = [];
  let requests = 0;
  let builds = 0;
  let perJob = 0;
  for (let i = 0; i < 5; i++) {
    const a = await api([{ id: 'r1', buildId: BUILD, timeline: [['finished', 'failed']], failures: 10_000, jobOfFailures: 'j1' }], { builds: [FAILED_BUILD] });
    withExcuses.push((await run(process.execPath, [BUNDLE, '--buildkite-plugin'], pluginEnv(a.url, {}, BUILD, 42))).ms);
    requests = buildTestRequests(a);
    builds = buildsApiRequests(a);
    perJob = jobRequests(a);
    await a.close();
    const b = await api([{ id: 'r1', buildId: BUILD, timeline: [['finished', 'failed']], failures: 10_000 }]);
    without.push((await run(process.execPath, [BUNDLE, '--buildkite-plugin'], pluginEnv(b.url, { 'flaky-tests': 'fail', 'muted-tests': 'fail' }))).ms);
    await b.close();
  }
  const extra = median(withExcuses) - median(without);
  row('7. failed run, 10 000 failing tests, the first a real failure: Build tests requests (+ per failed job, + Builds API)', `${requests} (+ ${perJob}, + ${builds})`, '≤ 2', requests <= 2);
  row('   time with step 5b, and without (flaky-tests/muted-tests: fail)', `${ms(median(withExcuses))}, ${ms(median(without))} (${extra < 0 ? '−' : '+'}${ms(Math.abs(extra))})`, '≤ +1 s', extra <= 1_000);
}
if (wanted(8)) {
  const server = await api([{ id: 'r1', buildId: BUILD, timeline: [['finished', 'failed']], failures: 1_000, passedOnRetry: 'all', jobOfFailures: 'j1', jobOfPasses: 'j2' }], { builds: [RETRIED_BUILD] });
  const r = await run(process.execPath, [BUNDLE, '--buildkite-plugin'], pluginEnv(server.url, {}, BUILD, 42));
  const requests = buildTestRequests(server);
  row('8. failed run whose 1 000 failing tests all passed on retry (a retried job): Build tests requests (+ per failed job, + Builds API)', `${requests} (+ ${jobRequests(server)}, + ${buildsApiRequests(server)})`, '≤ 11', requests <= 11);
  row('   verdict', r.code === 0 ? 'passed (exit 0)' : `exit ${r.code}`, 'passed', r.code === 0);
  await server.close();
}

rmSync(work, { recursive: true, force: true });
const widths = [0, 1, 2, 3].map((c) => Math.max(...[['figure', 'value', 'target', ''], ...rows].map((r) => r[c]!.length)));
const line = (r: string[]) => `| ${r.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ')} |`;
console.log(`test-engine-gate benchmark — node ${process.version}, ${(await import('node:os')).cpus().length} cores\n`);
console.log(line(['figure', 'value', 'target', '']));
console.log(line(widths.map((w) => '-'.repeat(w))));
for (const r of rows) console.log(line(r));
