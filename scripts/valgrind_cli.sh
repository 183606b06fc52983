#!/bin/sh
# Runs the CLI tests (tests/cli/test_cli*.sh, or those named) with every
# cnnzoo they start under valgrind's memcheck: an invalid read or write, a
# use of uninitialised memory or a leak (definitely or indirectly lost)
# makes that cnnzoo exit 99, which fails its test. Logs: BUILD/valgrind/.
#   scripts/valgrind_cli.sh BUILD [TEST...]
set -eu
build=$(cd "$1" && pwd)
shift
root=$(cd "$(dirname "$0")/.." && pwd)
out=$build/valgrind
rm -rf "$out" && mkdir -p "$out/logs"

# Open MPI's own suppressions, when it ships them (test_cli_mpi).
supp=""
for f in /usr/share/openmpi/openmpi-valgrind.supp; do
    [ -f "$f" ] && supp="--suppressions=$f"
done
cat >"$out/cnnzoo" <<WRAP
#!/bin/sh
OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive exec valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --show-leak-kinds=definite,indirect --track-origins=yes $supp \
    --log-file="$out/logs/%p.log" "$build/cnnzoo" "\$@"
WRAP
chmod +x "$out/cnnzoo"

tests=${*:-$(cd "$root/tests/cli" && ls test_cli*.sh | sed 's/\.sh$//')}
status=0
for t in $tests; do
    start=$(date +%s)
    if bash "$root/tests/cli/$t.sh" "$out/cnnzoo" "$out/tmp/$t" >"$out/$t.out" 2>&1; then
        echo "valgrind: $t passed ($(($(date +%s) - start)) s)"
    else
        echo "valgrind: $t FAILED ($(($(date +%s) - start)) s), see $out/$t.out"
        tail -5 "$out/$t.out"
        status=1
    fi
done
runs=$(ls "$out/logs" | wc -l)
dirty=$(grep -l . "$out/logs"/* 2>/dev/null | wc -l)
echo "valgrind: $runs cnnzoo runs, $dirty with a report (non-empty log in $out/logs)"
[ "$dirty" -eq 0 ] || status=1
exit $status
