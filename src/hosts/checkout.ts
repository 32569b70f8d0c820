/**
 * The source the report points into (SPEC.md step 6), as each host knows it: the files git tracks in the
 * checkout the step runs in, and the repository and commit for links. Read only when there is a failure to
 * show, never at start-up; a missing git or checkout is no error, only no repository-relative paths.
 */
import type { Config } from '../config.js';
import { sourceLinker, type SourceContext } from '../report/source.js';
import type { Env } from './host.js';

/** `git ls-files` of a large repository is a few MB; past this, or past the time, the checkout is not used. */
const GIT_MAX_BUFFER = 256 * 1024 * 1024;
const GIT_TIMEOUT_MS = 10_000;

export function trackedFiles(cwd: string): ReadonlySet<string> | undefined {
  const { spawnSync } = process.getBuiltinModule('node:child_process');
  const result = spawnSync('git', ['ls-files', '-z'], { cwd, encoding: 'utf8', timeout: GIT_TIMEOUT_MS, maxBuffer: GIT_MAX_BUFFER, stdio: ['ignore', 'pipe', 'ignore'] });
  if (result.status !== 0 || !result.stdout) return undefined;
  return new Set(result.stdout.split('\0').filter(Boolean));
}

/** The repository and commit of the build: Buildkite's variables, or on GitHub Actions the server, repository and commit. */
export function sourceContext(config: Config, env: Env, cwd: string): SourceContext {
  const tracked = trackedFiles(cwd);
  if (!config.sourceLinks) return { tracked, link: undefined };
  if (config.host === 'github') {
    const server = env.GITHUB_SERVER_URL || 'https://github.com';
    const repository = env.GITHUB_REPOSITORY;
    const commit = config.checks?.sha ?? (config.lookup.kind === 'commit' ? config.lookup.commit : undefined) ?? env.GITHUB_SHA;
    // GitHub's own server, or an Enterprise Server: the same URL shape.
    const link = repository ? sourceLinker(`${server.replace(/\/+$/, '')}/${repository}.git`, commit) ?? githubServerLinker(server, repository, commit) : undefined;
    return { tracked, link };
  }
  return { tracked, link: sourceLinker(env.BUILDKITE_REPO, env.BUILDKITE_COMMIT) };
}

/** A GitHub Enterprise Server, whose host name need not say GitHub: on Actions, GITHUB_SERVER_URL says it is one. */
function githubServerLinker(server: string, repository: string, commit: string | undefined): SourceContext['link'] {
  if (!commit || !/^[0-9a-f]{7,40}$/i.test(commit) || !/^https?:\/\/[\w.-]+(:\d+)?$/.test(server.replace(/\/+$/, ''))) return undefined;
  const base = `${server.replace(/\/+$/, '')}/${repository}`;
  return (path, line) => `${base}/blob/${commit}/${path.split('/').map(encodeURIComponent).join('/')}${line ? `#L${line}` : ''}`;
}
