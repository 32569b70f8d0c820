#!/usr/bin/env bats
# hooks/command's Docker fallback, stubbed at the argument level (helpers.bash).

load helpers

@test "refuses a node older than 20.18 when there is no docker, and says how to fix it" {
  stub node "--version : echo v20.17.0"

  run_hook

  assert_failure 2
  assert_output --partial "needs Node.js 20.18 or newer (this agent has v20.17.0), or Docker to run it in node:24.11.1-alpine3.22"
  assert_output --partial "Install Node.js 20.18+ or Docker on the agent."
  unstub node
}

@test "without node, runs the same bundle in the pinned image with exactly these docker arguments" {
  stub docker "run : printf '%s\n' \"\$@\" > '${BATS_TEST_TMPDIR}/docker-args'; exit 3"
  # Only its path matters here: it is mounted into the container, never run by the hook.
  printf '#!/bin/sh\nexit 0\n' > "${BATS_MOCK_BINDIR}/buildkite-agent"
  chmod +x "${BATS_MOCK_BINDIR}/buildkite-agent"

  run_hook BUILDKITE=true BUILDKITE_BUILD_ID=b1 BUILDKITE_AGENT_ACCESS_TOKEN=agent-secret \
    BUILDKITE_PLUGIN_CONFIGURATION='{"suite-slug":"web"}' BUILDKITE_API_TOKEN=api-secret \
    HTTPS_PROXY=http://proxy:3128 NO_PROXY=localhost UNRELATED=1

  assert_failure 3
  assert_output --partial "running test-engine-gate in node:24.11.1-alpine3.22 (this agent has no node on PATH)"
  refute_output --partial "secret"
  run cat "${BATS_TEST_TMPDIR}/docker-args"
  assert_output "$(printf '%s\n' run --rm --init --volume "${ROOT}:/test-engine-gate:ro" --workdir /test-engine-gate \
    --env BUILDKITE --env BUILDKITE_AGENT_ACCESS_TOKEN --env BUILDKITE_API_TOKEN --env BUILDKITE_BUILD_ID \
    --env BUILDKITE_PLUGIN_CONFIGURATION --env HTTPS_PROXY --env NO_PROXY \
    --volume "${BATS_MOCK_BINDIR}/buildkite-agent:/usr/bin/buildkite-agent:ro" \
    node:24.11.1-alpine3.22 node /test-engine-gate/dist/index.js --buildkite-plugin)"
  unstub docker
}

@test "run-in-docker true uses docker even with a good node; node-image and the token variable are honoured" {
  stub node "--version : echo v22.11.0"
  stub docker "run : printf '%s\n' \"\$@\" > '${BATS_TEST_TMPDIR}/docker-args'"

  run_hook BUILDKITE_PLUGIN_TEST_ENGINE_GATE_RUN_IN_DOCKER=true BUILDKITE_PLUGIN_TEST_ENGINE_GATE_NODE_IMAGE=node:24-alpine \
    BUILDKITE_PLUGIN_TEST_ENGINE_GATE_API_TOKEN_ENV_NAME=TE_TOKEN TE_TOKEN=x

  assert_success
  run cat "${BATS_TEST_TMPDIR}/docker-args"
  assert_line "--env"
  assert_line "TE_TOKEN"
  assert_line "node:24-alpine"
  refute_line --partial "/usr/bin/buildkite-agent"
  unstub node
  unstub docker
}

@test "run-in-docker false never uses docker" {
  stub docker

  run_hook BUILDKITE_PLUGIN_TEST_ENGINE_GATE_RUN_IN_DOCKER=false

  assert_failure 2
  assert_output --partial "needs Node.js 20.18 or newer, and this agent has no node on PATH."
  assert_output --partial "or set run-in-docker to auto on an agent with Docker"
  unstub docker
}

@test "neither node nor docker: exit 2 with the fix" {
  run_hook

  assert_failure 2
  assert_output --partial "(this agent has no node on PATH), or Docker to run it in node:24.11.1-alpine3.22, and there is no docker on PATH."
}

@test "an unknown run-in-docker value is an error before anything runs" {
  stub node
  run_hook BUILDKITE_PLUGIN_TEST_ENGINE_GATE_RUN_IN_DOCKER=sometimes
  assert_failure 2
  assert_output --partial "run-in-docker is 'sometimes'"
  unstub node
}

@test "no token value reaches a command line: node and docker get variables by name only" {
  secret="bkua_secret_value_that_must_not_appear_000"
  stub node "--version : echo v22.11.0" "* : printf '%s\n' \"\$@\" > '${BATS_TEST_TMPDIR}/node-args'"
  run_hook BUILDKITE_API_TOKEN="${secret}" BUILDKITE_AGENT_ACCESS_TOKEN="${secret}-agent"
  assert_success
  run cat "${BATS_TEST_TMPDIR}/node-args"
  assert_line --partial "dist/index.js"
  refute_output --partial "${secret}"
  unstub node

  stub docker "run : printf '%s\n' \"\$@\" > '${BATS_TEST_TMPDIR}/docker-args'"
  run_hook BUILDKITE_API_TOKEN="${secret}" BUILDKITE_AGENT_ACCESS_TOKEN="${secret}-agent" BUILDKITE_PLUGIN_TEST_ENGINE_GATE_RUN_IN_DOCKER=true
  assert_success
  run cat "${BATS_TEST_TMPDIR}/docker-args"
  assert_line "BUILDKITE_API_TOKEN"
  assert_line "BUILDKITE_AGENT_ACCESS_TOKEN"
  refute_output --partial "${secret}"
  unstub docker
}
