#!/usr/bin/env bash
# Coverage-guided fuzzing of the Dermag libraries with SharpFuzz and afl++ (see docs/reliability.md, "Fuzzing").
#
#   tests/Dermag.Fuzzing/fuzz.sh <harness> <seconds>   publish, instrument the libraries, run afl-fuzz for <seconds>
#   tests/Dermag.Fuzzing/fuzz.sh --smoke               replay corpus/ and regressions/ of every harness; no afl needed
#
# Harnesses: refresh-token, condition, payload. afl++ is the Debian package `afl++`; the SharpFuzz instrumenter is the
# local tool in dotnet-tools.json. Work files go to $DERMAG_FUZZ_WORK (default /tmp/dermag-fuzz): the instrumented
# build in bin/, afl's output in findings-<harness>/ (crashes in findings-<harness>/default/crashes/).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
HARNESSES=(refresh-token condition payload)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

usage() { echo "usage: $0 <${HARNESSES[*]// /|}> <seconds> | --smoke" >&2; exit 2; }

if [ "${1:-}" = "--smoke" ]; then
  # The Debug build is the one `dotnet test` already made of the solution, so after it this is incremental.
  nice -n 19 dotnet build "$HERE/Dermag.Fuzzing.csproj" -c Debug -v quiet -nologo >/dev/null || { echo "[fuzz] smoke: build failed" >&2; exit 1; }
  DLL="$HERE/bin/Debug/net10.0/Dermag.Fuzzing.dll"
  failed=0
  for h in "${HARNESSES[@]}"; do
    dotnet "$DLL" "$h" --replay "$HERE/corpus/$h" "$HERE/regressions/$h" || failed=$((failed + 1))
  done
  echo "[fuzz] smoke: ${#HARNESSES[@]} harnesses replayed, $failed failed"
  [ "$failed" -eq 0 ]
  exit
fi

HARNESS="${1:-}"; SECONDS_TO_RUN="${2:-}"
[[ " ${HARNESSES[*]} " == *" $HARNESS "* ]] || usage
[[ "$SECONDS_TO_RUN" =~ ^[0-9]+$ ]] || usage
command -v afl-fuzz >/dev/null || { echo "afl-fuzz not found: apt-get install -y afl++" >&2; exit 1; }

WORK="${DERMAG_FUZZ_WORK:-/tmp/dermag-fuzz}"
BIN="$WORK/bin"
FINDINGS="$WORK/findings-$HARNESS"
mkdir -p "$WORK"

# A fresh publish each run: sharpfuzz instruments a DLL in place and refuses one that is already instrumented.
rm -rf "$BIN"
(cd "$ROOT" && dotnet tool restore >/dev/null)
nice -n 19 dotnet publish "$HERE/Dermag.Fuzzing.csproj" -c Release -o "$BIN" -v quiet -nologo >/dev/null
for dll in Dermag.TokenRotation.dll Dermag.BomTriggers.dll; do
  (cd "$ROOT" && dotnet sharpfuzz "$BIN/$dll" >/dev/null)
done
echo "[fuzz] $HARNESS: instrumented Dermag.TokenRotation.dll and Dermag.BomTriggers.dll in $BIN"

DICT="$HERE/dictionaries/conditions.dict"
[ "$HARNESS" = "refresh-token" ] && DICT="$HERE/dictionaries/refresh-token.dict"

rm -rf "$FINDINGS"
# The target is `dotnet`, not an afl-instrumented binary (SharpFuzz speaks the fork-server protocol itself), hence
# AFL_SKIP_BIN_CHECK; the machine is shared, hence no CPU pinning and nice. -t: per input in ms; -V: total seconds.
AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 AFL_NO_UI=1 \
AFL_FORKSRV_INIT_TMOUT=60000 \
  nice -n 19 afl-fuzz -i "$HERE/corpus/$HARNESS" -o "$FINDINGS" -x "$DICT" -t 5000 -m none -V "$SECONDS_TO_RUN" \
  -- dotnet "$BIN/Dermag.Fuzzing.dll" "$HARNESS" > "$WORK/afl-$HARNESS.log" 2>&1 \
  || { tail -n 30 "$WORK/afl-$HARNESS.log" >&2; echo "[fuzz] $HARNESS: afl-fuzz failed (log: $WORK/afl-$HARNESS.log)" >&2; exit 1; }

STATS="$FINDINGS/default/fuzzer_stats"
stat() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$STATS"; }
crashes="$(stat saved_crashes)"; crashes="${crashes:-$(stat unique_crashes)}"
hangs="$(stat saved_hangs)"; hangs="${hangs:-$(stat unique_hangs)}"
echo "[fuzz] $HARNESS: $(stat run_time) s, execs_done $(stat execs_done), execs_per_sec $(stat execs_per_sec), corpus $(stat corpus_count), edges $(stat edges_found)/$(stat total_edges), crashes $crashes, hangs $hangs"

if [ "${crashes:-0}" -gt 0 ] || [ "${hangs:-0}" -gt 0 ]; then
  echo "[fuzz] $HARNESS: findings in $FINDINGS/default/crashes and .../hangs; replaying the crashes:"
  dotnet "$BIN/Dermag.Fuzzing.dll" "$HARNESS" --replay "$FINDINGS/default/crashes" || true
  exit 1
fi
