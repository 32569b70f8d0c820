import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runAgent } from '../../src/hosts/buildkite.js';

function agentThat(script: string): string {
  const bin = mkdtempSync(join(tmpdir(), 'teg-agent-'));
  writeFileSync(join(bin, 'buildkite-agent'), `#!/usr/bin/env bash\n${script}\n`);
  chmodSync(join(bin, 'buildkite-agent'), 0o755);
  return bin;
}

describe('runAgent (buildkite-agent with the annotation on stdin)', () => {
  it('stops an agent that hangs after its timeout, and says so instead of waiting', async () => {
    const bin = agentThat('exec sleep 60');
    const result = await runAgent(['annotate'], 'body', { PATH: `${bin}:${process.env.PATH}` }, 300);
    expect(result).toEqual({ ok: false, detail: 'buildkite-agent did not finish within 0.3s and was stopped' });
  });

  it("reports a failing agent with its last error line", async () => {
    const bin = agentThat('echo "fatal: annotation body too large" >&2; exit 1');
    const result = await runAgent(['annotate'], 'body', { PATH: `${bin}:${process.env.PATH}` });
    expect(result).toEqual({ ok: false, detail: 'buildkite-agent exited 1: fatal: annotation body too large' });
  });

  it('reports a missing agent', async () => {
    expect(await runAgent(['annotate'], 'body', { PATH: '/nonexistent' })).toEqual({ ok: false, detail: 'buildkite-agent is not on PATH' });
  });
});
