/**
 * Untrusted text — test names, failure reasons, backtraces, API error bodies — made safe to show: terminal
 * escapes and control characters removed, broken UTF-16 repaired, secrets replaced, length capped at a
 * code-point boundary. The input is cut before any work, so a 3 MB failure reason costs what a small one does.
 */
import { stripVTControlCharacters } from 'node:util';
import type { Secrets } from './secrets.js';

// C0 controls but tab and newline, DEL, C1 controls, and the bidi overrides that can make text lie.
const CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

export interface CleanText {
  readonly text: string;
  /** Characters of the input not shown (0 when it all fit). */
  readonly omitted: number;
}

export function cleanText(raw: string, maxChars: number, secrets?: Secrets): CleanText {
  // Keep enough to still have maxChars after escapes are stripped and a secret at the edge is whole.
  const longestSecret = secrets?.longest ?? 0;
  const window = raw.length > maxChars * 2 + longestSecret ? raw.slice(0, maxChars * 2 + longestSecret) : raw;
  let text = stripVTControlCharacters(window.replace(/\r\n?/g, '\n')).replace(CONTROL, '');
  text = text.toWellFormed();
  if (secrets) text = secrets.redact(text);
  if (text.length <= maxChars && window.length === raw.length) return { text, omitted: 0 };
  let cut = Math.min(maxChars, text.length);
  const code = text.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut--; // never split a surrogate pair
  const kept = text.slice(0, cut);
  return { text: kept, omitted: Math.max(1, raw.length - window.length + (text.length - cut)) };
}

/** One line: whitespace runs folded to a space (or, with `keepIndent`, only line breaks and tabs). */
export function cleanLine(raw: string, maxChars: number, secrets?: Secrets, keepIndent = false): CleanText {
  const { text, omitted } = cleanText(raw, maxChars, secrets);
  return { text: keepIndent ? text.replace(/[\n\t]+/g, ' ').trimEnd() : text.replace(/\s+/g, ' ').trim(), omitted };
}

/** Where a log line goes, for `cleanLogText`. */
export type LogStyle = 'buildkite' | 'actions' | 'plain';

/**
 * Text on its way into the job log, line by line: terminal escapes (ANSI colours, OSC links such as Buildkite's
 * 1339) and control characters removed — NEXT LINE (U+0085) among them, which the runner's .NET `TrimStart`
 * strips but JavaScript's `\s` does not — and nothing that the host would obey: on GitHub no `::command::` at
 * the start of a line (after any white space) and no `##[command]` anywhere in one; on Buildkite no line that
 * opens a log group (`---`, `+++`, `~~~`, `^^^ +++`).
 */
export function cleanLogText(raw: string, style: LogStyle): string {
  let text = stripVTControlCharacters(raw.replace(/\r\n?/g, '\n')).replace(CONTROL, '');
  if (style === 'actions') text = text.replace(/^(\s*):(?=:)/gm, '$1:\u200B').replace(/##\[/g, '##\u200B[');
  if (style === 'buildkite') text = text.replace(/^(?=(?:---|\+\+\+|~~~|\^\^\^ \+\+\+)(?:\s|$))/gm, ' ');
  return text;
}

/** One string for a workflow command's data or property (GitHub): no `##[command]` that the runner would obey in it. */
export function withoutWorkflowCommands(text: string): string {
  return text.replace(/##\[/g, '##\u200B[');
}
