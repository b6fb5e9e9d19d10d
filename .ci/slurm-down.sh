#!/usr/bin/env bash
# Stop the daemons .ci/slurm-up.sh started, by their pid files (nothing else is touched).
# Idempotent; every wait is bounded. Packages and /etc/slurm/slurm.conf stay for the next up.
set -uo pipefail

# a pid file naming a live process (a zombie, which no one reaps here, counts as gone)
alive() {
  [ -s "$1" ] || return 1
  local pid
  pid=$(cat "$1")
  kill -0 "$pid" 2>/dev/null && ! grep -q '^[^)]*) Z' "/proc/$pid/stat" 2>/dev/null
}

PIDS=(/run/slurmd.pid /run/slurmctld.pid /run/munge/munged.pid)
for f in "${PIDS[@]}"; do
  if alive "$f"; then
    pid=$(cat "$f")
    kill "$pid" 2>/dev/null && echo "stopped $f ($pid)"
  fi
done
for f in "${PIDS[@]}"; do
  for _ in $(seq 1 20); do alive "$f" || break; sleep 0.5; done
  if alive "$f"; then
    echo "still running after 10 s, killing: $f ($(cat "$f"))"
    kill -9 "$(cat "$f")" 2>/dev/null || true
  fi
done
exit 0
