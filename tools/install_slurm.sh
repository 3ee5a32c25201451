#!/usr/bin/env bash
# Debian's slurm-wlm and munge for the cluster-path test (tests/fireworks: qlaunch -> SLURM jobs on localhost).
# Best effort: where they cannot be installed (not root, no apt), that test is reported as skipped with the reason.
set -u
if command -v slurmctld >/dev/null 2>&1 && command -v munged >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install_slurm: not root or no apt-get: the SLURM test will be skipped" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q slurm-wlm munge >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q slurm-wlm munge >/dev/null 2>&1; } \
    || echo "install_slurm: apt-get could not install slurm-wlm munge: the SLURM test will be skipped" >&2
exit 0
