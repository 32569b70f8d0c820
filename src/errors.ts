/**
 * The error hierarchy. Each error knows its exit code (SPEC.md step 8) and carries a message written for
 * the person reading the job log. Caught once, at the top (main.ts), or by the gate phase that owns it.
 */
import type { Secrets } from './secrets.js';

export const ExitCode = {
  Passed: 0,
  Failed: 1,
  Error: 2,
  Inconclusive: 3,
  Interrupted: 130,
  Terminated: 143,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A page that explains how to fix a setup problem. */
export interface DocsLink {
  readonly title: string;
  readonly url: string;
}

export interface GateErrorOptions {
  readonly cause?: unknown;
  /** What the user should do, said apart from what happened, so that an annotation can put it first. */
  readonly fix?: string;
  readonly docs?: DocsLink;
}

export class GateError extends Error {
  override name = 'GateError';
  readonly fix: string | undefined;
  readonly docs: DocsLink | undefined;
  constructor(message: string, options: GateErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.fix = options.fix;
    this.docs = options.docs;
  }
  get exitCode(): ExitCode {
    return ExitCode.Error;
  }
}

/** A bad option: found before any request is sent. */
export class ConfigError extends GateError {
  override name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(problems.length === 1 ? problems[0]! : `${problems.length} configuration problems:\n- ${problems.join('\n- ')}`);
  }
}

/** An HTTP answer the gate cannot go on from (401, 403, 404, other 4xx, 3xx): nothing to wait for. */
export class ApiError extends GateError {
  override name = 'ApiError';
  constructor(
    message: string,
    readonly status: number,
    options: GateErrorOptions = {},
  ) {
    super(message, options);
  }
}

/**
 * A 2xx answer whose JSON is not of the shape the API documents (Build tests in its older format, say): a
 * contract mismatch, never retried — asking again gets the same answer.
 */
export class ContractError extends ApiError {
  override name = 'ContractError';
}

/**
 * The transport gave up on a read: 5xx or network faults after its retries, a 429 whose reset lies past the
 * deadline, a body that is not what the API sends. The poll loop reads again at its next poll.
 */
export class TransientApiError extends GateError {
  override name = 'TransientApiError';
}

/** SIGINT/SIGTERM arrived: stop everything at once. */
export class CancelledError extends GateError {
  override name = 'CancelledError';
  constructor(readonly signal: 'SIGINT' | 'SIGTERM' = 'SIGTERM') {
    super(`interrupted by ${signal}`);
  }
  override get exitCode(): ExitCode {
    return this.signal === 'SIGINT' ? ExitCode.Interrupted : ExitCode.Terminated;
  }
}

/**
 * The one-line message for any thrown value, with every secret replaced: an error's text can quote a URL,
 * a header or a body, and a token must never reach the log through it.
 */
export function describeError(error: unknown, secrets?: Secrets): string {
  let text: string;
  if (error instanceof GateError) text = error.fix ? `${error.message} ${error.fix}` : error.message;
  else if (error instanceof Error) text = `${error.name}: ${error.message}`;
  else text = `non-error thrown: ${String(error)}`;
  return secrets ? secrets.redact(text) : text;
}
