# lib.sh - what the CLI test scripts share. Source it as
#   . "$(dirname "$0")/lib.sh" "$@"
# with the script's arguments CNNZOO TMPDIR: it sets $cz and $tmp (made
# empty), counts failures in $failures, and defines fail and expect.
# CZ_TEST_CNNZOO, when set, replaces CNNZOO: `make valgrind` runs the
# tests through ctest with a wrapper that starts cnnzoo under valgrind.

cz=${CZ_TEST_CNNZOO:-$1}
tmp=$2
rm -rf "$tmp" && mkdir -p "$tmp"
failures=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect CODE PATTERN -- COMMAND...: exit status CODE and, for CODE != 0,
# exactly one line on stderr, "cnnzoo: error: ..." matching PATTERN.
expect() {
    local code=$1 pattern=$2
    shift 3
    "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ "$rc" -ne "$code" ]; then
        fail "'$*' exited $rc, expected $code; stderr: $(cat "$tmp/err")"
        return
    fi
    [ "$code" -eq 0 ] && return
    if [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -q "^cnnzoo: error: .*$pattern" "$tmp/err"; then
        fail "'$*': expected one line 'cnnzoo: error: ...$pattern...', got: $(cat "$tmp/err")"
    fi
}
