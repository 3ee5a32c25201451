#!/usr/bin/env bash
# Debian's CP2K 2023.1 (cp2k.psmp: OpenMP + MPI) with its basis sets and GTH pseudopotentials (cp2k-data) and an
# OpenMP BLAS, for the CP2K engine's tests with the real program (tests/engines/test_cp2k.py).
# Best effort: where they cannot be installed (not root, no apt), those tests are reported as skipped with the reason.
set -u
if command -v cp2k.psmp >/dev/null 2>&1 && [ -f /usr/share/cp2k/BASIS_MOLOPT ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install_cp2k: not root or no apt-get: the CP2K tests will be skipped" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
packages="cp2k cp2k-data libopenblas0-openmp"
apt-get install -y -q $packages >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q $packages >/dev/null 2>&1; } \
    || echo "install_cp2k: apt-get could not install $packages: the CP2K tests will be skipped" >&2
exit 0
