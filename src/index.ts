/**
 * Picks the host, reads its configuration, runs the gate, and sets the exit code. `hooks/command` runs
 * this with `--buildkite-plugin`; under GitHub Actions (GITHUB_ACTIONS=true, no arguments) it is the Action;
 * anything else is the command line.
 */
import { writeSync } from 'node:fs';
import { ExitCode, describeError } from './errors.js';
import { BuildkiteHost } from './hosts/buildkite.js';
import { CliHost, helpText, parseCliArgs } from './hosts/cli.js';
import type { Env, Host } from './hosts/host.js';
import { GithubHost } from './hosts/github.js';
import { loadActionsCore } from './hosts/load-actions-core.js';
import { runConfiguredGate } from './run-configured-gate.js';

declare const __VERSION__: string;
const VERSION = typeof __VERSION__ === 'string' ? __VERSION__ : '0.0.0-dev';

const stdout = (text: string) => void process.stdout.write(text);
/** For --help and --version: a plain write, without setting up the process.stdout stream. */
const printNow = (text: string) => void writeSync(1, text);
const stderr = (text: string) => void process.stderr.write(text);

async function main(argv: readonly string[], env: Env): Promise<number> {
  let host: Host;
  if (argv[0] === '--buildkite-plugin') {
    host = new BuildkiteHost(env, stdout);
  } else if (env.GITHUB_ACTIONS === 'true' && argv.length === 0) {
    host = new GithubHost(env, stdout, loadActionsCore());
  } else {
    let command;
    try {
      command = parseCliArgs(argv);
    } catch (error) {
      stderr(`test-engine-gate: ${describeError(error)}\n`);
      return ExitCode.Error;
    }
    if (command.kind === 'help') return printNow(helpText(VERSION)), ExitCode.Passed;
    if (command.kind === 'version') return printNow(`${VERSION}\n`), ExitCode.Passed;
    host = new CliHost(command.values, env, stdout, stderr);
  }
  const log = host.log;

  let config;
  try {
    config = host.readConfig();
  } catch (error) {
    log.group(':octagonal_sign: Test Engine gate: configuration error', true);
    log.error(describeError(error));
    return ExitCode.Error;
  }
  return runConfiguredGate(host, config, env, VERSION);
}

main(process.argv.slice(2), process.env).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    stderr(`test-engine-gate: ${describeError(error)}\n`);
    process.exitCode = ExitCode.Error;
  },
);
