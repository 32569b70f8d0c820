/**
 * The GitHub runner's rules for workflow commands in a step's output, to check what a step would make it do:
 * `::name props::data` at the start of a line after any .NET white space (its `TrimStart`), `##[name props]data`
 * anywhere in a line, and `::stop-commands::TOKEN` … `::TOKEN::`, between which nothing is obeyed.
 */
export interface WorkflowCommand {
  readonly name: string;
  readonly data: string;
  /** `::` at the start of a line, or the older `##[` form found anywhere. */
  readonly form: 'colons' | 'brackets';
  readonly line: string;
}

/** What .NET's Char.IsWhiteSpace counts, which `TrimStart` strips: more than JavaScript's `\s` (U+0085). */
const DOTNET_SPACE = /^[\s\u0085]*/;

export function workflowCommands(output: string): WorkflowCommand[] {
  const commands: WorkflowCommand[] = [];
  let stopToken: string | undefined;
  for (const line of output.split('\n')) {
    const trimmed = line.replace(DOTNET_SPACE, '');
    if (stopToken !== undefined) {
      if (trimmed === `::${stopToken}::`) stopToken = undefined;
      continue;
    }
    const colons = /^::([A-Za-z-]+)(?: [^:]*)?::(.*)$/.exec(trimmed);
    if (colons) {
      commands.push({ name: colons[1]!, data: colons[2]!, form: 'colons', line });
      if (colons[1] === 'stop-commands') stopToken = colons[2];
      continue;
    }
    for (const m of line.matchAll(/##\[([A-Za-z-]+)(?:[ ;][^\]]*)?\](.*)$/g)) {
      commands.push({ name: m[1]!, data: m[2]!, form: 'brackets', line });
      if (m[1] === 'stop-commands') stopToken = m[2];
    }
  }
  return commands;
}

/** Buildkite's log groups: a line that starts with `--- `, `+++ `, `~~~ ` or `^^^ +++`. */
export function buildkiteGroups(output: string): string[] {
  return output.split('\n').filter((line) => /^(---|\+\+\+|~~~)( |$)|^\^\^\^ \+\+\+/.test(line));
}
