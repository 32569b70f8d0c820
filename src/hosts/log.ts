/**
 * The job log. Buildkite folds `--- title` groups and opens `+++ title` ones; `^^^ +++` opens the group
 * before it (how a failure is made visible). GitHub Actions has `::group::`, and `::error::` for the line
 * that fails the step. Elsewhere the same lines are plain text.
 */
import type { Secrets } from '../secrets.js';

export type LogStyle = 'buildkite' | 'actions' | 'plain';

export interface Log {
  group(title: string, open?: boolean): void;
  line(text: string): void;
  /** The line that says why the step failed. */
  error(text: string): void;
}

/** Data of a workflow command, escaped as @actions/core does it. */
function escapeCommandData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** Every line passes through `secrets.redact`: a secret added to them later is hidden from then on. */
export function createLog(write: (text: string) => void, style: LogStyle, secrets: Secrets): Log {
  let groupOpen = false;
  const out = (text: string) => {
    let line = secrets.redact(text);
    // The runner executes `::command::` lines; text that came from tests must not be able to issue one.
    if (style === 'actions') line = line.replace(/^(\s*)::/gm, '$1:\u200B:');
    write(`${line}\n`);
  };
  const raw = (text: string) => write(`${text}\n`);
  return {
    group: (heading, open = false) => {
      if (style === 'buildkite') return out(`${open ? '+++' : '---'} ${heading}`);
      const title = heading.replace(/^:[a-z_]+: /, ''); // Buildkite's emoji codes mean nothing elsewhere
      if (style === 'plain') return out(`\n== ${title}`);
      if (groupOpen) raw('::endgroup::');
      groupOpen = !open;
      if (open) out(`\n${title}`);
      else raw(`::group::${escapeCommandData(secrets.redact(title))}`);
    },
    line: out,
    error: (text) => {
      if (style !== 'actions') return out(text);
      if (groupOpen) raw('::endgroup::');
      groupOpen = false;
      raw(`::error::${escapeCommandData(secrets.redact(text))}`);
    },
  };
}
