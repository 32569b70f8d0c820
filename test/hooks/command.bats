#!/usr/bin/env bats
# hooks/command, stubbed at the argument level (helpers.bash): the Node.js check, exit codes, no token on a
# command line.

load helpers

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

