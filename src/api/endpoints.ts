/**
 * The Test Engine endpoints the gate reads (SPEC.md "The Buildkite API it uses"): their URLs, their schemas
 * and their paging. Every request goes through the transport, which retries; nothing here does.
 */
import type { RunLookup } from '../config.js';
import { CancelledError, ContractError, GateError } from '../errors.js';
import { pageNumberOf, type PageLinks } from './link.js';
import { Build, BuildTestList, FailedExecutionList, Run, RunList, type BuildTest, type FailedExecution } from './schemas.js';
import type { Credential, RequestSubject, Transport } from './transport.js';

/** Largest page the API serves. */
export const PER_PAGE = 100;
/** The page size of a link that names none. */
export const DEFAULT_PER_PAGE = 30;

/**
 * A pagination link as the server wrote it, with every query parameter the gate sent and the link dropped put
 * back (Buildkite's own Go client's fixture writes links with `page` alone): filters and page size must hold on
 * every page.
 */
export function withSentQuery(link: string, sent: string): string {
  const url = new URL(link);
  for (const [key, value] of new URL(sent).searchParams) if (key !== 'page' && !url.searchParams.has(key)) url.searchParams.set(key, value);
  return url.href;
}
/** How far back a lookup by commit reads: the 300 newest runs of the suite. */
export const RECENT_RUN_PAGES = 3;

export interface FailureList {
  /** The first failed executions, at most as many as were asked for. */
  readonly executions: readonly FailedExecution[];
  /** Every failed execution of the run: exact, or a lower bound when the API gave no `last` link. */
  readonly total: number;
  readonly exact: boolean;
  /** The test of every execution read — past the first `want` too — with its name, for step 5b's evidence; `null` for one without `test_id`. */
  readonly readTests: ReadonlyMap<string | null, string | undefined>;
  /** Why the listing stopped short: the executions above are what was read, and `total` a lower bound. */
  readonly cutShort?: string;
}

export interface BuildTestPage {
  readonly tests: readonly BuildTest[];
  /** Whether another page follows. */
  readonly more: boolean;
}

/**
 * A Build tests query (SPEC.md): `tags` conditions on the executions — `result:~failed` (at least one failed),
 * `result:^failed` (every one failed), `build.job_id:{job}` (only that job's executions) — and the test state.
 */
export interface BuildTestsQuery {
  readonly tags: readonly string[];
  readonly state?: 'enabled' | 'muted';
  readonly perPage?: number;
}

export interface EndpointsOptions {
  readonly apiUrl: string;
  readonly org: string;
  /** The credential for a suite's endpoints, or for an organization-level one (Build tests) read for that suite. */
  readonly credentialFor: (suite: string, scope: 'suite' | 'org') => Credential;
}

export class TestEngineApi {
  readonly #transport: Transport;
  readonly #options: EndpointsOptions;

  constructor(transport: Transport, options: EndpointsOptions) {
    this.#transport = transport;
    this.#options = options;
  }

  get #org(): string {
    return `${this.#options.apiUrl}/v2/analytics/organizations/${encodeURIComponent(this.#options.org)}`;
  }

  suiteUrl(suite: string): string {
    return `${this.#org}/suites/${encodeURIComponent(suite)}`;
  }

  #subject(suite: string, scope: 'suite' | 'org' = 'suite'): RequestSubject {
    const subject = { credential: this.#options.credentialFor(suite, scope), org: this.#options.org };
    return scope === 'suite' ? { ...subject, suite } : subject;
  }

  /**
   * The runs of the build (on Buildkite: always filtered by `build_id`, never paging through a suite's runs),
   * or, for a commit, those among the suite's `RECENT_RUN_PAGES` newest pages; newest first.
   */
  async findRuns(suite: string, lookup: RunLookup, deadlineMs: number): Promise<readonly Run[]> {
    if (lookup.kind === 'build') {
      const url = `${this.suiteUrl(suite)}/runs?build_id=${encodeURIComponent(lookup.buildId)}`;
      return (await this.#transport.getJson(url, RunList, this.#subject(suite), deadlineMs)).data;
    }
    let url: string | undefined = `${this.suiteUrl(suite)}/runs?per_page=${PER_PAGE}`;
    for (let page = 0; url && page < RECENT_RUN_PAGES; page++) {
      const result: { data: Run[]; links: PageLinks } = await this.#transport.getJson(url, RunList, this.#subject(suite), deadlineMs);
      // A short SHA matches the runs whose full SHA starts with it.
      const matches = result.data.filter((run) => run.commit_sha?.toLowerCase().startsWith(lookup.commit));
      if (matches.length) return matches;
      url = result.links.next;
    }
    return [];
  }

  async getRun(suite: string, runId: string, deadlineMs: number): Promise<Run> {
    return (await this.#transport.getJson(`${this.suiteUrl(suite)}/runs/${encodeURIComponent(runId)}`, Run, this.#subject(suite), deadlineMs)).data;
  }

  /**
   * The first `want` failed executions and the exact total, in as few requests as that takes: pages of 100
   * until `want` are read, then the `last` page only to count it — (last − 1) × per_page + items on last.
   */
  async failedExecutions(suite: string, runId: string, want: number, deadlineMs: number): Promise<FailureList> {
    const subject = this.#subject(suite);
    const first = `${this.suiteUrl(suite)}/runs/${encodeURIComponent(runId)}/failed_executions?per_page=${PER_PAGE}&include_failure_expanded=true`;
    let url: string | undefined = first;
    const executions: FailedExecution[] = [];
    const readTests = new Map<string | null, string | undefined>();
    let read = 0;
    let links: PageLinks = {};
    while (url) {
      let page: { data: FailedExecution[]; links: PageLinks };
      try {
        page = await this.#transport.getJson(url, FailedExecutionList, subject, deadlineMs);
      } catch (error) {
        // What was read is shown, counted "at least"; with nothing read, the caller says the listing failed.
        if (read === 0 || !(error instanceof GateError) || error instanceof CancelledError) throw error;
        return { executions, total: read, exact: false, readTests, cutShort: error.message };
      }
      read += page.data.length;
      for (const execution of page.data) readTests.set(execution.test_id ?? null, execution.test_name ?? undefined);
      executions.push(...page.data.slice(0, want - executions.length));
      links = page.links;
      if (executions.length >= want || page.data.length === 0) break;
      url = links.next && withSentQuery(links.next, first);
    }
    if (!links.next) return { executions, total: read, exact: true, readTests };
    const lastNumber = links.last ? pageNumberOf(links.last) : undefined;
    if (!links.last || lastNumber === undefined) return { executions, total: read, exact: false, readTests };
    let last: { data: FailedExecution[] };
    try {
      last = await this.#transport.getJson(links.last, FailedExecutionList, subject, deadlineMs);
    } catch (error) {
      if (!(error instanceof GateError) || error instanceof CancelledError) throw error;
      return { executions, total: read, exact: false, readTests, cutShort: error.message };
    }
    for (const execution of last.data) readTests.set(execution.test_id ?? null, execution.test_name ?? undefined);
    // The `last` link's page number is in the page size it names itself: counting with the size asked for (or
    // served) would be wrong whenever a server serves fewer, or drops per_page from its links.
    const perPage = Number(new URL(links.last).searchParams.get('per_page')) || DEFAULT_PER_PAGE;
    return { executions, total: (lastNumber - 1) * perPage + last.data.length, exact: true, readTests };
  }

  /**
   * The Builds API (organization level, scope `read_builds`): the build by its pipeline and number, with its
   * jobs and its Test Engine runs. Always with the API token: an OIDC token is one suite's key.
   */
  async getBuild(pipeline: string, number: number, deadlineMs: number, forSuite: string): Promise<Build> {
    const url = `${this.#options.apiUrl}/v2/organizations/${encodeURIComponent(this.#options.org)}/pipelines/${encodeURIComponent(pipeline)}/builds/${number}?include_test_engine=true`;
    return (await this.#transport.getJson(url, Build, this.#subject(forSuite, 'org'), deadlineMs)).data;
  }

  /**
   * Build tests (organization level): the build's tests, of every suite the credential can read, that match
   * the query. Page by page, so that the caller stops reading as soon as it knows enough. `forSuite` picks the
   * credential (with OIDC, the suite's token, when there is no API token).
   */
  async *buildTests(buildId: string, query: BuildTestsQuery, deadlineMs: number, forSuite: string): AsyncGenerator<BuildTestPage> {
    const subject = this.#subject(forSuite, 'org');
    const first =
      `${this.#org}/builds/${encodeURIComponent(buildId)}/tests?tags=${encodeURIComponent(query.tags.join(','))}&per_page=${query.perPage ?? PER_PAGE}` +
      (query.state ? `&state=${query.state}` : '');
    let url: string | undefined = first;
    while (url) {
      const page: { data: BuildTest[]; links: PageLinks } = await this.#transport.getJson(url, BuildTestList, subject, deadlineMs);
      checkBuildTests(page.data, query, url);
      url = page.data.length && page.links.next ? withSentQuery(page.links.next, first) : undefined;
      yield { tests: page.data, more: url !== undefined };
    }
  }
}

/**
 * Build tests items as evidence: in today's shape (each with its `url`, which names its suite), and each matching
 * the filter it was asked for. Else the page cannot be read — never taken as evidence, and not worth asking again.
 */
function checkBuildTests(tests: readonly BuildTest[], query: BuildTestsQuery, url: string): void {
  const what = `GET ${new URL(url).pathname}`;
  if (tests.some((t) => !t.url)) {
    throw new ContractError(`${what}: this organization's Build tests API answers in an older format (items without a url naming their suite)`, 200);
  }
  const result = query.tags.find((t) => t.startsWith('result:'));
  const stray = tests.find(({ executions_count_by_result: { failed, passed } }) =>
    result === 'result:~failed' ? failed === 0 : result === 'result:^failed' ? failed === 0 || passed > 0 : false,
  );
  if (stray) {
    throw new ContractError(`${what}: the Build tests API listed a test that does not match ${result} (${stray.executions_count_by_result.failed} failed, ${stray.executions_count_by_result.passed} passed)`, 200);
  }
}

/** The suite a Build tests item belongs to, from its `url` (`…/suites/{suite}/tests/{id}`). */
export function suiteOfTest(test: BuildTest): string | undefined {
  const match = /\/suites\/([^/]+)\/tests\//.exec(test.url ?? '');
  return match ? decodeURIComponent(match[1]!) : undefined;
}
