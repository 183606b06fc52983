#!/bin/sh
# Runs the CLI tests (ctest's cli/ tests, or those matching REGEX) with
# every cnnzoo they start under valgrind's memcheck: an invalid read or
# write, a use of uninitialised memory or a leak (definitely or indirectly
# lost) makes that cnnzoo exit 99, which fails its test, and leaves its
# report in BUILD/valgrind/logs/. ctest supplies each test's fixtures and
# environment; CZ_TEST_CNNZOO (tests/cli/lib.sh) points the tests at the
# wrapper.
#   scripts/valgrind_cli.sh BUILD [REGEX]
set -eu
build=$(cd "$1" && pwd)
regex=${2:-^cli/}
out=$build/valgrind
rm -rf "$out" && mkdir -p "$out/logs"
# A copy of the binary, so a rebuild during the hours this takes does not
# change what the later tests run.
cp "$build/cnnzoo" "$out/cnnzoo.bin"

# Open MPI's runtime (test_cli_mpi, test_cli_signal): its own suppressions
# when it ships them, and ours for what they miss (tests/valgrind.supp).
supp="--suppressions=$(cd "$(dirname "$0")/.." && pwd)/tests/valgrind.supp"
[ -f /usr/share/openmpi/openmpi-valgrind.supp ] &&
    supp="$supp --suppressions=/usr/share/openmpi/openmpi-valgrind.supp"
# One OpenMP thread that sleeps when idle: valgrind runs one thread at a
# time, and libgomp's spinning waiters would only burn its time. The
# portable C kernels unless CZ_KERNELS says otherwise: valgrind cannot run
# AVX-512 at all, and runs the AVX2 kernels about 8 times slower than the
# portable ones (lenet5 forward: 26 ms against 3.3), which turns the CLI
# tests into a day's work. The SIMD kernels' memory safety is checked by
# the sanitizer build instead, where the unit tests force each path.
kernels=${CZ_KERNELS:-portable}
cat >"$out/cnnzoo" <<WRAP
#!/bin/sh
CZ_KERNELS=$kernels OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive exec valgrind -q --error-exitcode=99 \
    --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --show-leak-kinds=definite,indirect $supp \
    --log-file="$out/logs/%p.log" "$out/cnnzoo.bin" "\$@"
WRAP
chmod +x "$out/cnnzoo"

status=0
CZ_TEST_CNNZOO=$out/cnnzoo ctest --test-dir "$build" -R "$regex" --output-on-failure \
    -j"$(nproc)" --timeout 20000 || status=1
runs=$(ls "$out/logs" | wc -l)
dirty=$(find "$out/logs" -type f -size +0 | wc -l)
echo "valgrind ($kernels kernels): $runs cnnzoo runs, $dirty with a report$( [ "$dirty" -eq 0 ] || echo ": see $out/logs")"
[ "$dirty" -eq 0 ] || status=1
exit $status
