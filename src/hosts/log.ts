/**
 * The job log. Buildkite folds `--- title` groups and opens `+++ title` ones; `^^^ +++` opens the group
 * before it (how a failure is made visible). GitHub Actions has `::group::`, and `::error::` for the line
 * that fails the step. Elsewhere the same lines are plain text.
 */
import { cleanLogText, withoutWorkflowCommands, type LogStyle } from '../sanitize.js';
import type { Secrets } from '../secrets.js';

export type { LogStyle };

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

/**
 * Every line passes through `secrets.redact` (a secret added later is hidden from then on) and `cleanLogText`:
 * text from the API or a test can start no log group and issue no workflow command. The gate's own groups and
 * commands are written apart.
 */
export function createLog(write: (text: string) => void, style: LogStyle, secrets: Secrets): Log {
  let groupOpen = false;
  const out = (text: string) => write(`${cleanLogText(secrets.redact(text), style)}\n`);
  /** A group's title: one line, cleaned; the marker in front of it is the gate's own. */
  const title = (text: string) => cleanLogText(secrets.redact(text), 'plain').replace(/\s+/g, ' ').trim();
  const raw = (text: string) => write(`${text}\n`);
  return {
    group: (heading, open = false) => {
      if (style === 'buildkite') return raw(`${open ? '+++' : '---'} ${title(heading)}`);
      const plain = title(heading).replace(/^:[a-z_]+: /, ''); // Buildkite's emoji codes mean nothing elsewhere
      if (style === 'plain') return out(`\n== ${plain}`);
      if (groupOpen) raw('::endgroup::');
      groupOpen = !open;
      if (open) out(`\n${plain}`);
      else raw(`::group::${escapeCommandData(withoutWorkflowCommands(plain))}`);
    },
    line: out,
    error: (text) => {
      if (style !== 'actions') return out(text);
      if (groupOpen) raw('::endgroup::');
      groupOpen = false;
      raw(`::error::${escapeCommandData(withoutWorkflowCommands(cleanLogText(secrets.redact(text), 'plain')))}`);
    },
  };
}
