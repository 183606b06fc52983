#!/bin/sh
# Installs the Debian packages cnnzoo needs to build, test and run its demo.
# As root it runs apt-get; otherwise it prints the one line to run.
#   scripts/deps.sh            what build, test and demo need
#   scripts/deps.sh fuzz       plus clang and libFuzzer (make fuzz)
#   scripts/deps.sh valgrind   plus valgrind (make valgrind)
set -eu

packages="gcc make cmake pkg-config zlib1g-dev libjpeg62-turbo-dev libpng-dev libcjson-dev libcmocka-dev libomp-dev libopenmpi-dev openmpi-bin
dataset-fashion-mnist python3-torch python3-torchvision python3-numpy python3-pil"
case "${1:-}" in
    fuzz) packages="$packages clang libclang-rt-dev" ;;
    valgrind) packages="$packages valgrind" ;;
    "") ;;
    *) echo "scripts/deps.sh: unknown extra '$1' (expected fuzz or valgrind)" >&2; exit 2 ;;
esac

missing=""
for p in $packages; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        *" installed") ;;
        *) missing="$missing $p" ;;
    esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    echo "scripts/deps.sh: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || echo "scripts/deps.sh: apt-get update failed; trying the cached package lists" >&2
    apt-get install -y -qq --no-install-recommends $missing
else
    echo "cnnzoo needs these Debian packages:$missing" >&2
    echo "run:  sudo apt-get install -y --no-install-recommends$missing" >&2
    exit 1
fi
