/**
 * SPEC.md step 6, "point at the line that broke": a failure's paths relative to the repository root, its
 * backtrace reduced to the project's own frames (each run of other frames folded into one line that says how
 * many and where), and links to those lines in the repository at the build's commit. Pure: the host hands over
 * the files git tracks in the checkout (or none) and the repository's web address.
 */

/** What the renderer knows of the source: the tracked files of the checkout, and where a line of one is on the web. */
export interface SourceContext {
  /** `git ls-files` of the checkout the step runs in; undefined without a checkout or git. */
  readonly tracked: ReadonlySet<string> | undefined;
  /** The web address of a line of a tracked file at the build's commit; undefined when the host is unknown. */
  readonly link: ((path: string, line: number | undefined) => string | undefined) | undefined;
}

export const NO_SOURCE: SourceContext = { tracked: undefined, link: undefined };

/** One frame of a backtrace, parsed: where it points, if anywhere, and the text around that. */
export interface Frame {
  readonly raw: string;
  /** The path as written (absolute, `file://`, `./`, a Java file name), or undefined for a frame with no file. */
  readonly path: string | undefined;
  readonly line: number | undefined;
  /** The text before the path, between the path and its line (`:`, or Python's `", line `), and after the line. */
  readonly before: string;
  readonly between: string;
  readonly after: string;
  /** For a Java frame: the class, whose package says where the file is. */
  readonly javaClass?: string;
}

const FRAME_PATTERNS: readonly RegExp[] = [
  // Python: `  File "/app/x.py", line 12, in f`
  /^(?<before>\s*File ")(?<path>[^"]+)(?<mid>", line )(?<line>\d+)(?<after>.*)$/,
  // Java: `\tat com.acme.Cart.total(Cart.java:41)`
  /^(?<before>\s*at (?<cls>[\w$.]+)\.[\w$<>]+\()(?<path>[\w$-]+\.(?:java|kt|scala|groovy)):(?<line>\d+)(?<after>\).*)$/,
  // JavaScript: `    at fn (/abs/file.js:12:5)`, `    at file:///abs/file.js:12:5`, `    at new Promise (<anonymous>)`
  /^(?<before>\s*at (?:.*? \()?)(?<path>(?:file:\/\/)?[^\s()]+?):(?<line>\d+)(?<after>(?::\d+)?\)?\s*)$/,
  // Ruby and most others: `./spec/a_spec.rb:23:in 'block'`, `/gems/x/lib/y.rb:263:in `run'`, `src/a.go:12 +0x1d`
  /^(?<before>\s*)(?<path>[^\s:'"`()]+\.[A-Za-z0-9]+):(?<line>\d+)(?<after>(?::\d+)?(?::in .*| .*)?)$/,
];

export function parseFrame(raw: string): Frame {
  for (const pattern of FRAME_PATTERNS) {
    const m = pattern.exec(raw);
    if (!m?.groups) continue;
    const { before = '', path, mid, line, after = '', cls } = m.groups;
    return { raw, path, line: Number(line), before, between: mid ?? ':', after, ...(cls ? { javaClass: cls } : {}) };
  }
  return { raw, path: undefined, line: undefined, before: raw, between: '', after: '' };
}

/** A path as written, without `file://` and a leading `./`. */
function bare(path: string): string {
  if (!path.startsWith('file://')) return path.replace(/^\.\//, '');
  try {
    return decodeURI(path.slice('file://'.length));
  } catch {
    return path.slice('file://'.length); // a malformed escape: the path as written
  }
}

/**
 * The path relative to the repository root, or undefined when it is not the project's. With the tracked files:
 * the longest prefix whose remainder is tracked (test jobs ran on other agents, under other prefixes); a path
 * that is already relative but to another root (a collector's `checkout.spec.ts`) when it ends exactly one
 * tracked file. Without them: an agent's checkout prefix is dropped by its shape, and a path in dependencies,
 * the runtime's own library or nowhere is not the project's.
 */
export function repositoryPath(path: string | undefined, source: SourceContext, javaClass?: string): string | undefined {
  if (!path) return undefined;
  const plain = bare(path);
  const { tracked } = source;
  if (javaClass) {
    // Java names the file and its class: the package is the path, under whatever source root.
    const suffix = `${javaClass.split('.').slice(0, -1).join('/')}/${plain}`;
    return tracked ? uniqueEnding(tracked, suffix) : undefined;
  }
  if (tracked) {
    if (tracked.has(plain)) return plain;
    const parts = plain.split('/');
    for (let i = 1; i < parts.length; i++) {
      const rest = parts.slice(i).join('/');
      if (tracked.has(rest)) return rest;
    }
    return plain.startsWith('/') ? undefined : uniqueEnding(tracked, plain);
  }
  if (NOT_THE_PROJECTS.some((p) => p.test(plain))) return undefined;
  const agent = AGENT_CHECKOUT.exec(plain);
  return agent ? plain.slice(agent[0].length) : plain;
}

/** Where an agent checks a pipeline out: `…/builds/{agent}/{org}/{pipeline}/`. */
const AGENT_CHECKOUT = /^\/(?:.*\/)?builds\/[^/]+\/[^/]+\/[^/]+\//;
/** Without a checkout to ask: dependencies, the runtime's own library, frames of nothing. */
const NOT_THE_PROJECTS: readonly RegExp[] = [
  /^<|^\[|^native$/,
  /(^|\/)node_modules\//,
  /(^|\/)vendor\//,
  /(^|\/)gems\/[^/]+\//,
  /(^|\/)(site|dist)-packages\//,
  /^node:|^internal\//,
  /(^|\/)lib\/python\d[\d.]*\//,
  /(^|\/)lib\/ruby\/\d/,
  /^<internal:|^<anonymous>$/,
];

function uniqueEnding(tracked: ReadonlySet<string>, suffix: string): string | undefined {
  let found: string | undefined;
  for (const file of tracked) {
    if (file === suffix || file.endsWith(`/${suffix}`)) {
      if (found) return undefined; // two candidates: no guess
      found = file;
    }
  }
  return found;
}

/** Where a frame that is not the project's comes from, for the fold's label. */
export function frameOrigin(frame: Frame): string {
  const path = frame.path ? bare(frame.path) : '';
  if (frame.javaClass) return frame.javaClass.split('.').slice(0, 2).join('.');
  if (!path) return /\(<anonymous>\)|\[native code\]/.test(frame.raw) ? 'native code' : 'frames without a file';
  let m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (m) return `node_modules/${m[1]}`;
  m = /(?:^|\/)gems\/([^/]+?)-\d[^/]*\//.exec(path);
  if (m) return `gem ${m[1]}`;
  m = /(?:^|\/)(site-packages|dist-packages)\/([^/]+)/.exec(path);
  if (m) return `${m[1]}/${m[2]}`;
  m = /(?:^|\/)vendor\/([^/]+)/.exec(path);
  if (m) return `vendor/${m[1]}`;
  if (/^node:|^internal\//.test(path)) return 'node internals';
  return path.split('/').slice(0, -1).slice(-2).join('/') || path;
}

/** A backtrace as shown: the project's frames, and one fold line for each run of others. */
export type ShownFrame = { readonly kind: 'own'; readonly frame: Frame; readonly path: string } | { readonly kind: 'fold'; readonly count: number; readonly origins: readonly string[] };

export function projectFrames(lines: readonly string[], source: SourceContext): ShownFrame[] {
  const shown: ShownFrame[] = [];
  let run: Frame[] = [];
  const flush = () => {
    if (run.length === 0) return;
    const counts = new Map<string, number>();
    for (const f of run) counts.set(frameOrigin(f), (counts.get(frameOrigin(f)) ?? 0) + 1);
    shown.push({ kind: 'fold', count: run.length, origins: [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([o]) => o) });
    run = [];
  };
  for (const line of lines) {
    if (!line.trim()) continue;
    const frame = parseFrame(line);
    const path = repositoryPath(frame.path, source, frame.javaClass);
    if (path) {
      flush();
      shown.push({ kind: 'own', frame, path });
    } else run.push(frame);
  }
  flush();
  return shown;
}

/** "… 8 frames in node_modules/@vitest/runner" (two origins named at most). */
export function foldLabel(fold: { count: number; origins: readonly string[] }): string {
  const where = fold.origins.length > 2 ? `${fold.origins.slice(0, 2).join(', ')} and elsewhere` : fold.origins.join(' and ');
  return `… ${fold.count} frame${fold.count === 1 ? '' : 's'} in ${where}`;
}

/**
 * How a repository's web pages address a line at a commit, from its clone URL: GitHub (and a host whose name
 * says GitHub), GitLab (likewise), Bitbucket. Anything else: no link, never a wrong one.
 */
export function sourceLinker(repo: string | undefined, commit: string | undefined): SourceContext['link'] {
  if (!repo || !commit || !/^[0-9a-f]{7,40}$/i.test(commit)) return undefined;
  const m = /^(?:[a-z+]+:\/\/)?(?:[^@/]+@)?([^/:]+)(?::\d+)?[:/](.+?)(?:\.git)?\/?$/i.exec(repo.trim());
  if (!m) return undefined;
  const [, host, project] = m as unknown as [string, string, string];
  if (!/^[\w.-]+$/.test(host) || !/^[\w.-]+(\/[\w.-]+)+$/.test(project)) return undefined;
  const base = `https://${host.toLowerCase()}/${project}`;
  const file = (path: string) => path.split('/').map(encodeURIComponent).join('/');
  if (host === 'github.com' || /(^|\.)github\./i.test(host)) return (path, line) => `${base}/blob/${commit}/${file(path)}${line ? `#L${line}` : ''}`;
  if (host === 'gitlab.com' || /(^|\.)gitlab\./i.test(host)) return (path, line) => `${base}/-/blob/${commit}/${file(path)}${line ? `#L${line}` : ''}`;
  if (host === 'bitbucket.org') return (path, line) => `${base}/src/${commit}/${file(path)}${line ? `#lines-${line}` : ''}`;
  return undefined;
}

/** A test's location (`./spec/a_spec.rb:23`, `src/a.test.ts:88:20`, `tests/t.py::test_x`) as a repository path and line. */
export function locationIn(location: string | null | undefined, source: SourceContext): { path: string; line: number | undefined } | undefined {
  if (!location) return undefined;
  const spot = location.trim().split('::')[0]!;
  const m = /^(.*?):(\d+)(?::\d+)?$/.exec(spot);
  const path = repositoryPath(m ? m[1] : spot, source);
  return path ? { path, line: m ? Number(m[2]) : undefined } : undefined;
}
