// `npm test`: rebuilds dist/, then type-checks (tsc) and runs every test (vitest, which also runs the hook's
// bats tests) side by side: the type check takes seconds that the tests, mostly waiting on servers and
// subprocesses, leave free. Arguments go to vitest. Fails if either fails.
import { spawn } from 'node:child_process';

const run = (command, args) =>
  new Promise((done) => {
    const child = spawn(process.execPath, [command, ...args], { stdio: 'inherit' });
    child.on('close', (code, signal) => done(code ?? (signal ? 1 : 0)));
  });

const build = await run('scripts/build.mjs', []);
if (build !== 0) process.exit(build);
const [typecheck, tests] = await Promise.all([run('node_modules/typescript/bin/tsc', ['-p', '.']), run('node_modules/vitest/vitest.mjs', ['run', ...process.argv.slice(2)])]);
if (typecheck !== 0) console.error('npm test: the type check (tsc -p .) failed; see above.');
process.exitCode = typecheck || tests;
