#!/usr/bin/env bats
# hooks/command, stubbed at the argument level: node, docker and buildkite-agent are bats-mock stubs on a
# PATH that has no real node, docker or agent; the environment is exactly what each test gives it.

setup() {
  ROOT="$(cd "${BATS_TEST_DIRNAME}/../.." && pwd)"
  load "${ROOT}/node_modules/bats-support/load"
  load "${ROOT}/node_modules/bats-assert/load"
  load "${ROOT}/node_modules/bats-mock/stub"
  HOOK="${ROOT}/hooks/command"
  # Stubs per test, not in the shared BATS_TMPDIR, so that one test's stubs never answer another's calls.
  BATS_MOCK_TMPDIR="${BATS_TEST_TMPDIR}"
  BATS_MOCK_BINDIR="${BATS_TEST_TMPDIR}/bin"

  # Just the tools bash and the stubs need.
  SYSBIN="${BATS_TEST_TMPDIR}/sysbin"
  mkdir -p "${SYSBIN}" "${BATS_MOCK_BINDIR}"
  for tool in bash env tr; do ln -s "$(command -v "${tool}")" "${SYSBIN}/${tool}"; done

  # The agent runs the hook from the build's checkout, not from the plugin.
  CHECKOUT="${BATS_TEST_TMPDIR}/checkout"
  mkdir -p "${CHECKOUT}"
  cd "${CHECKOUT}"
}

# Runs the hook with only the given variables, plus PATH and the stubs' own bookkeeping variables.
run_hook() {
  local bookkeeping=("BATS_MOCK_TMPDIR=${BATS_MOCK_TMPDIR}") name
  while IFS= read -r name; do
    [[ "${name}" == *_STUB_* ]] && bookkeeping+=("${name}=${!name}")
  done < <(compgen -e)
  run /usr/bin/env -i PATH="${BATS_MOCK_BINDIR}:${SYSBIN}" "${bookkeeping[@]}" "$@" "${HOOK}"
}

@test "runs dist/index.js with the agent's node, found from the hook's own directory" {
  stub node \
    "--version : echo v22.11.0" \
    "${ROOT}/dist/index.js --buildkite-plugin : echo gate ran in \$PWD"

  run_hook BUILDKITE_BUILD_ID=b1

  assert_success
  assert_output "gate ran in ${CHECKOUT}"
  unstub node
}

@test "hands back the program's exit code unchanged" {
  for code in 1 2 3 130 143; do
    stub node "--version : echo v20.18.0" "${ROOT}/dist/index.js --buildkite-plugin : exit ${code}"
    run_hook
    assert_failure "${code}"
    unstub node
  done
}

@test "accepts node 21.0 and refuses 18.20 and 19.99" {
  stub node "--version : echo v21.0.0" "${ROOT}/dist/index.js --buildkite-plugin : exit 0"
  run_hook
  assert_success
  unstub node

  for version in v18.20.4 v19.99.0; do
    stub node "--version : echo ${version}"
    run_hook BUILDKITE_PLUGIN_TEST_ENGINE_GATE_RUN_IN_DOCKER=false
    assert_failure 2
    assert_output --partial "needs Node.js 20.18 or newer, and this agent has ${version}."
    unstub node
  done
}

