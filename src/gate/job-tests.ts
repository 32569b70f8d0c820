/**
 * The tests that failed in one job, as Buildkite's own MCP server finds a build's real failures:
 * `tags=build.job_id:{job},result:^failed&state=enabled` lists the enabled tests whose every execution in that
 * job failed — an in-job retry that passed is not `^failed`, and a retried job is not read at all. Pages are
 * read on demand and kept, so every suite's step 5b and step 5c share one request per page.
 */
import type { BuildTestPage, GateApiBuildTests } from './poll.js';

/** The query of one job's failed tests. */
export function failedInJob(jobId: string) {
  return { tags: [`build.job_id:${jobId}`, 'result:^failed'], state: 'enabled' } as const;
}

class JobPages {
  readonly pages: BuildTestPage[] = [];
  #iterator: AsyncGenerator<BuildTestPage>;
  #pending: Promise<void> | undefined;
  #done = false;
  #error: unknown;

  constructor(iterator: AsyncGenerator<BuildTestPage>) {
    this.#iterator = iterator;
  }

  /** Page `index` (from 0), or undefined past the last one; a failed read fails every later call alike. */
  async page(index: number): Promise<BuildTestPage | undefined> {
    while (this.pages.length <= index) {
      if (this.#error !== undefined) throw this.#error;
      if (this.#done) return undefined;
      // One read at a time: concurrent callers wait for the same page.
      this.#pending ??= this.#iterator.next().then(
        (result) => {
          if (result.done) this.#done = true;
          else this.pages.push(result.value);
          this.#pending = undefined;
        },
        (error: unknown) => {
          this.#error = error;
          this.#pending = undefined;
        },
      );
      await this.#pending;
    }
    return this.pages[index];
  }
}

export class FailedTestsByJob {
  readonly #jobs = new Map<string, JobPages>();

  constructor(
    readonly api: GateApiBuildTests,
    readonly buildId: string,
    readonly deadlineMs: number,
    /** Whose credential the organization-level reads use (with OIDC and no API token, a suite's). */
    readonly forSuite: string,
  ) {}

  page(jobId: string, index: number): Promise<BuildTestPage | undefined> {
    let pages = this.#jobs.get(jobId);
    if (!pages) this.#jobs.set(jobId, (pages = new JobPages(this.api.buildTests(this.buildId, failedInJob(jobId), this.deadlineMs, this.forSuite))));
    return pages.page(index);
  }
}
