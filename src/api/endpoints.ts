/**
 * The Test Engine endpoints the gate reads (SPEC.md "The Buildkite API it uses"): their URLs, their schemas
 * and their paging. Every request goes through the transport, which retries; nothing here does.
 */
import type { RunLookup } from '../config.js';
import { CancelledError, GateError } from '../errors.js';
import { pageNumberOf, type PageLinks } from './link.js';
import { Build, BuildTestList, FailedExecutionList, Run, RunList, type BuildTest, type FailedExecution } from './schemas.js';
import type { Credential, RequestSubject, Transport } from './transport.js';

/** Largest page the API serves. */
export const PER_PAGE = 100;
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
    let url: string | undefined =
      `${this.suiteUrl(suite)}/runs/${encodeURIComponent(runId)}/failed_executions?per_page=${PER_PAGE}&include_failure_expanded=true`;
    const executions: FailedExecution[] = [];
    const readTests = new Map<string | null, string | undefined>();
    let read = 0;
    let firstPageSize: number | undefined;
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
      firstPageSize ??= page.data.length;
      read += page.data.length;
      for (const execution of page.data) readTests.set(execution.test_id ?? null, execution.test_name ?? undefined);
      executions.push(...page.data.slice(0, want - executions.length));
      links = page.links;
      if (executions.length >= want || page.data.length === 0) break;
      url = links.next;
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
    const perPage = Number(new URL(links.last).searchParams.get('per_page')) || firstPageSize || PER_PAGE;
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
    let url: string | undefined =
      `${this.#org}/builds/${encodeURIComponent(buildId)}/tests?tags=${encodeURIComponent(query.tags.join(','))}&per_page=${query.perPage ?? PER_PAGE}` +
      (query.state ? `&state=${query.state}` : '');
    while (url) {
      const page: { data: BuildTest[]; links: PageLinks } = await this.#transport.getJson(url, BuildTestList, subject, deadlineMs);
      url = page.data.length ? page.links.next : undefined;
      yield { tests: page.data, more: url !== undefined };
    }
  }
}

/** The suite a Build tests item belongs to, from its `url` (`…/suites/{suite}/tests/{id}`). */
export function suiteOfTest(test: BuildTest): string | undefined {
  const match = /\/suites\/([^/]+)\/tests\//.exec(test.url ?? test.web_url ?? '');
  return match ? decodeURIComponent(match[1]!) : undefined;
}
