/**
 * The job log. Buildkite folds `--- title` groups and opens `+++ title` ones; `^^^ +++` opens the group
 * before it (how a failure is made visible). Elsewhere the same lines are plain text.
 */
import { redact } from '../errors.js';

export interface Log {
  group(title: string, open?: boolean): void;
  /** Opens the group just printed: for the verdict of a failure. */
  expandPrevious(): void;
  line(text: string): void;
  /** Adds a secret that must never be printed, should any line quote it. */
  addSecret(secret: string): void;
}

export function createLog(write: (text: string) => void, buildkiteGroups: boolean): Log {
  const secrets: string[] = [];
  const out = (text: string) => write(`${redact(text, secrets)}\n`);
  return {
    group: (title, open = false) => out(buildkiteGroups ? `${open ? '+++' : '---'} ${title}` : `\n== ${title}`),
    expandPrevious: () => {
      if (buildkiteGroups) out('^^^ +++');
    },
    line: out,
    addSecret: (secret) => {
      secrets.push(secret);
    },
  };
}
