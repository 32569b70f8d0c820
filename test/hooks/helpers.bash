# Shared by the hook's bats files: node, docker and buildkite-agent are bats-mock stubs on a PATH that has no
# real node, docker or agent; the environment is exactly what each test gives it.

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
