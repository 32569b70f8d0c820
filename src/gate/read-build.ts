/**
 * SPEC.md step 2, the build's own evidence: the Builds API names every Test Engine run of the build (one per
 * suite) and its jobs, which step 5b judges retries by and step 5c lists. Reading it is a phase of its own;
 * later phases take its reading as an input. When the build cannot be read — no build number, an OIDC-only
 * gate, a token without `read_builds`, a 404 — the reading says why, once, and the gate goes on without it.
 */
import type { Build, BuildJob } from '../api/schemas.js';
import type { BuildRef } from '../config.js';
import { ApiError, TransientApiError, describeError } from '../errors.js';
import type { GateDeps } from './poll.js';

export type BuildReading =
  | { readonly build: Build; readonly at: number }
  | { readonly unavailable: string };

export interface BuildSettings {
  /** The build's pipeline and number; undefined when they are not known (the Action or CLI without them). */
  readonly build: BuildRef | undefined;
  /** Whether an API token is set: an OIDC token is one suite's key and cannot read the Builds API. */
  readonly hasApiToken: boolean;
  /** The gate's own job, which is neither evidence nor a job that could still upload. */
  readonly jobId: string | undefined;
  /** On GitHub Actions there is no Buildkite build of the workflow itself: said so in the note. */
  readonly host: 'buildkite' | 'github' | 'cli';
}

/** Job states in which a job may still upload results (SPEC.md step 3). */
const MAY_UPLOAD = new Set(['pending', 'limiting', 'limited', 'scheduled', 'assigned', 'accepted', 'running', 'canceling', 'timing_out']);
/** Final states of a job that did not pass; a soft-failed job counts too, whatever its state says. */
const DID_NOT_PASS = new Set(['failed', 'timed_out', 'expired']);

/** Reads the build once; never throws for what the API answers: an unreadable build is a reading too. */
export async function readBuild(deps: GateDeps, settings: BuildSettings, deadlineMs: number, forSuite: string): Promise<BuildReading> {
  const { build } = settings;
  if (!build) {
    return {
      unavailable:
        settings.host === 'github'
          ? 'this GitHub Actions run names no Buildkite build (set the pipeline and build-number inputs to the build that ran the tests)'
          : 'the build is not known (set pipeline and build-number, which default to $BUILDKITE_PIPELINE_SLUG and $BUILDKITE_BUILD_NUMBER)',
    };
  }
  if (!settings.hasApiToken) {
    return { unavailable: 'the gate has only OIDC tokens, which cannot read the Builds API (give it an API access token with read_builds as well)' };
  }
  try {
    return { build: await deps.api.getBuild(build.pipeline, build.number, deadlineMs, forSuite), at: deps.clock.now() };
  } catch (error) {
    if (!(error instanceof ApiError || error instanceof TransientApiError)) throw error;
    const why = describeError(error, deps.secrets);
    if (error instanceof ApiError && error.status === 403) {
      const said = /The API said: "([^"]*)"/.exec(error.message)?.[1];
      return { unavailable: `the API token lacks the read_builds scope: add read_builds to it${said ? ` (the API said: "${said}")` : ''}` };
    }
    if (error instanceof ApiError && error.status === 404) {
      return { unavailable: `build ${build.number} of pipeline "${build.pipeline}" was not found (check pipeline and build-number; ${why})` };
    }
    return { unavailable: why };
  }
}

/** The suites the build names, each with its run id, in the build's order. */
export function runsOfBuild(reading: BuildReading): ReadonlyMap<string, string> {
  const runs = new Map<string, string>();
  if ('build' in reading) for (const run of reading.build.test_engine?.runs ?? []) if (!runs.has(run.suite.slug)) runs.set(run.suite.slug, run.id);
  return runs;
}

/** A job that was not retried: the build's outcome is made of these. */
export function isFinal(job: BuildJob): boolean {
  return !job.retried;
}

/** Final command jobs that did not pass — failed, timed out, expired or soft-failed — other than the gate's own. */
export function failingJobs(build: Build, ownJobId: string | undefined): BuildJob[] {
  return (build.jobs ?? []).filter(
    (job) => job.type === 'script' && job.id !== ownJobId && isFinal(job) && (DID_NOT_PASS.has(job.state ?? '') || job.soft_failed === true),
  );
}

/** Jobs other than the gate's own that may still upload results (SPEC.md step 3). */
export function jobsStillRunning(build: Build, ownJobId: string | undefined): BuildJob[] {
  return (build.jobs ?? []).filter((job) => job.type === 'script' && job.id !== ownJobId && MAY_UPLOAD.has(job.state ?? ''));
}

/**
 * The build as last read, shared by every suite's phases. `settled()` reads it again — once, however many
 * suites ask at the same moment — while a job other than the gate's own could still have changed: a job still
 * running when the gate began may have failed, or been retried, by the time a suite is judged.
 */
export class BuildView {
  #reading: BuildReading;
  #rereading: Promise<BuildReading> | undefined;

  constructor(
    reading: BuildReading,
    readonly read: () => Promise<BuildReading>,
    readonly ownJobId: string | undefined,
  ) {
    this.#reading = reading;
  }

  get reading(): BuildReading {
    return this.#reading;
  }

  /** Reads the build again; a reading that fails keeps the last good one. */
  reread(): Promise<BuildReading> {
    this.#rereading ??= this.read().then((next) => {
      this.#rereading = undefined;
      if ('build' in next || 'unavailable' in this.#reading) this.#reading = next;
      return this.#reading;
    });
    return this.#rereading;
  }

  /** The reading, read again first if it is older than `maxAgeMs` (at most one read per poll, however many suites ask). */
  async fresh(maxAgeMs: number, nowMs: number): Promise<BuildReading> {
    const reading = this.#reading;
    // A build that could not be read is not asked for again: the gate goes on without it, as it said.
    if ('unavailable' in reading || nowMs - reading.at < maxAgeMs) return reading;
    return this.reread();
  }

  /** The reading, read again first if a job could still have been running in it. */
  async settled(): Promise<BuildReading> {
    const reading = this.#reading;
    if ('build' in reading && jobsStillRunning(reading.build, this.ownJobId).length > 0) return this.reread();
    return reading;
  }
}
