/**
 * A stand-in `buildkite-agent` for the demo and the tests: it records each call (arguments and standard input)
 * in a folder, and answers `oidc request-token` with a JWT for the audience it is given, as the real agent
 * does — issuer https://agent.buildkite.com — so that the simulated API can check the audience.
 */
import { chmodSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface StandInAgent {
  /** Exit status of every call but `oidc request-token` (a failing agent); 'hang' never answers. */
  readonly exit?: number | 'hang';
  /** `oidc request-token`: print a JWT (default), fail as an agent without OIDC would, or never answer. */
  readonly oidc?: 'mint' | 'fail' | 'hang';
}

export interface AgentCall {
  readonly args: string[];
  readonly stdin: string;
  /** The process id of the call (a hanging call's, to check that it was ended). */
  readonly pid: number;
}

export function writeStandInAgent(bin: string, calls: string, agent: StandInAgent = {}): void {
  const oidcFailure = `echo 'fatal: failed to get OIDC token: POST https://agent.buildkite.com/v3/jobs/1/oidc/tokens: 422 Unknown command' >&2; exit 1`;
  writeFileSync(
    join(bin, 'buildkite-agent'),
    `#!/usr/bin/env bash
# Unique and in call order even when two calls overlap (several suites annotate at once).
n="$(date +%s%N)-$$"
printf '%s\\n' "$@" > "${calls}/$n.args"
echo "$$" > "${calls}/$n.pid"
cat > "${calls}/$n.stdin"
if [[ "$1 $2" == "oidc request-token" ]]; then
  ${agent.oidc === 'fail' ? oidcFailure : agent.oidc === 'hang' ? 'exec sleep 60' : ''}
  while [[ $# -gt 0 ]]; do [[ "$1" == --audience ]] && aud="$2"; shift; done
  b64() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
  printf '%s.%s.c2lnbmF0dXJl\\n' "$(printf '{"alg":"RS256","typ":"JWT"}' | b64)" \\
    "$(printf '{"iss":"https://agent.buildkite.com","aud":"%s","jti":"%s"}' "$aud" "$n" | b64)"
  exit 0
fi
${agent.exit === 'hang' ? 'exec sleep 60' : `exit ${agent.exit ?? 0}`}
`,
  );
  chmodSync(join(bin, 'buildkite-agent'), 0o755);
}

/** The calls the stand-in recorded, in order. */
export function readAgentCalls(calls: string): AgentCall[] {
  return readdirSync(calls)
    .filter((f) => f.endsWith('.args'))
    .sort()
    .map((f) => ({
      args: readFileSync(join(calls, f), 'utf8').trimEnd().split('\n'),
      stdin: readFileSync(join(calls, f.replace('.args', '.stdin')), 'utf8'),
      pid: Number(readFileSync(join(calls, f.replace('.args', '.pid')), 'utf8')),
    }));
}
