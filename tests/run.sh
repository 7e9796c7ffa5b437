#!/usr/bin/env bash
# Runs every check and test, then prints "N passed, N failed, N skipped".
# As root it first installs the Debian packages the privileged tests need.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .cache

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  missing=()
  while read -r pkg; do
    pkg=${pkg%%#*}; pkg=${pkg// /}
    [ -n "$pkg" ] || continue
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done < tests/apt-packages.txt
  if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing Debian packages: ${missing[*]}"
    apt-get update -qq >/dev/null 2>&1 || echo "apt-get update failed; continuing"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
      || echo "apt-get install failed for some of: ${missing[*]} (dependent tests will skip with a reason)"
  fi
else
  echo "== not root: privileged tests will skip with a reason"
fi

if [ ! -x node_modules/.bin/deno ]; then
  echo "== npm ci"
  npm ci --no-audit --no-fund --loglevel=error || exit 1
fi
DENO="$PWD/node_modules/.bin/deno"
export DENO_NO_UPDATE_CHECK=1 NO_COLOR=1

passed=0; failed=0
step() { # name, command...
  local name=$1; shift
  if "$@" > ".cache/$name.log" 2>&1; then
    echo "ok   $name"; passed=$((passed + 1))
  else
    echo "FAIL $name"; tail -n 40 ".cache/$name.log"; failed=$((failed + 1))
  fi
}
echo "== static checks"
step fmt "$DENO" fmt --check
step lint "$DENO" lint
step check "$DENO" check mod.ts main.ts tests/
# Every ```ts example in the product's doc comments is type-checked and run
# (```ts ignore marks the few that need root or a network).
mapfile -t doc_files < <(grep -rlE '^ \* ```(ts|typescript)$' --include=*.ts plugin.ts core ffi plugins web build examples | sort)
step doc "$DENO" test -A --doc "${doc_files[@]}"

echo "== deno test"
# One deno process per area: a crash in one (a native fault in the runtime)
# is reported as that area's failure instead of losing every result.
rm -f .cache/junit-*.xml
groups=(
  "core:tests/core tests/plugins/builtin_test.ts tests/plugins/connectivity tests/plugins/learned_endpoints"
  "ffi:tests/ffi"
  "discovery:tests/plugins/discovery_service tests/plugins/discovery_static tests/interop"
  "web:tests/web"
  "build:tests/build"
  "mesh:tests/mesh"
  # Two labs at once on a 2-core machine starve each other: one process each.
  "lab:tests/lab/lab_test.ts tests/lab/modes_test.ts tests/lab/plan_test.ts tests/lab/report_test.ts"
  "lab-relay:tests/lab/relay_test.ts"
  "plugins:tests/plugins/external tests/plugins/peer_relay tests/examples"
  "vm:tests/vm"
)
# A test file outside every group would never run: name it and fail.
uncovered=()
while IFS= read -r f; do
  covered=0
  for entry in "${groups[@]}"; do
    for p in ${entry#*:}; do
      case "$f" in "$p" | "$p"/*) covered=1 ;; esac
    done
  done
  [ $covered = 1 ] || uncovered+=("$f")
done < <(find tests -name '*_test.ts' | sort)
if [ ${#uncovered[@]} -gt 0 ]; then
  echo "test files in no group of tests/run.sh (add them to a group): ${uncovered[*]}"
  failed=$((failed + ${#uncovered[@]}))
fi
crashed=0
: > .cache/test.log
for entry in "${groups[@]}"; do
  name=${entry%%:*}
  paths=${entry#*:}
  existing=()
  for p in $paths; do [ -e "$p" ] && existing+=("$p"); done
  [ ${#existing[@]} -gt 0 ] || continue
  echo "== deno test: $name (${existing[*]})"
  start_s=$(date +%s)
  "$DENO" test -A --parallel --junit-path=".cache/junit-$name.xml" "${existing[@]}" > ".cache/test-$name.log" 2>&1
  rc=$?
  if [ ! -s ".cache/junit-$name.xml" ]; then
    # The runtime itself died (a native fault, no report): say so and try
    # once more; a second crash counts as a failure below.
    echo "   $name: the test process died without a report (exit $rc); running it once more"
    tail -n 5 ".cache/test-$name.log"
    "$DENO" test -A --parallel --junit-path=".cache/junit-$name.xml" "${existing[@]}" > ".cache/test-$name.log" 2>&1
    rc=$?
  fi
  cat ".cache/test-$name.log" >> .cache/test.log
  grep -E "^(ok|FAILED) \||\.\.\. FAILED|skipped:" ".cache/test-$name.log" || true
  if [ $rc -ne 0 ]; then grep -A12 "^ ERRORS" ".cache/test-$name.log" | head -40; fi
  echo "   $name finished in $(( $(date +%s) - start_s ))s (exit $rc)"
  if [ ! -s ".cache/junit-$name.xml" ]; then
    echo "   $name: no report (the test process died, exit $rc); see .cache/test.log"
    crashed=$((crashed + 1))
  fi
done
"$DENO" run --allow-read tests/_tools/summary.ts "$passed" "$((failed + crashed))" .cache/junit-*.xml
