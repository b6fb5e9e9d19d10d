#!/usr/bin/env bash
# Bring up a single-node SLURM on this machine for CI and the SLURM tests (Debian 12, SLURM 22.05):
# one node at 127.0.0.1 with nproc CPUs and memory minus 2 GB, partition `debug`, munge auth,
# no systemd, no cgroups, no accounting database (so `sacct` does not work: poll with squeue).
# Idempotent: a running cluster with the same slurm.conf is left alone. Every wait is bounded.
# Finished jobs stay visible to squeue and scontrol for an hour (MinJobAge), for the tests.
# Needs root. Stop it with .ci/slurm-down.sh.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "slurm-up: must run as root (installs packages, starts daemons)" >&2
  exit 2
fi

# bounded calls: SLURM clients retry for a long time when the controller is down
t() { timeout -s KILL "$@"; }

# a pid file naming a live process (a zombie, which no one reaps here, counts as gone)
alive() {
  [ -s "$1" ] || return 1
  local pid
  pid=$(cat "$1")
  kill -0 "$pid" 2>/dev/null && ! grep -q '^[^)]*) Z' "/proc/$pid/stat" 2>/dev/null
}

# --- packages ---
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
  || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  t 300 apt-get update -qq
  t 600 apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
fi

HOST=$(hostname -s)
NCPU=$(nproc)
MEM_MB=$(($(awk '/MemTotal/{print int($2/1024)}' /proc/meminfo) - 2048))

# --- munge ---
if [ ! -s /etc/munge/munge.key ]; then
  mungekey -c -f -k /etc/munge/munge.key 2>/dev/null \
    || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
fi
chown munge:munge /etc/munge/munge.key
chmod 400 /etc/munge/munge.key
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
chmod 755 /run/munge
if ! t 5 munge -n >/dev/null 2>&1; then
  runuser -u munge -- /usr/sbin/munged
fi
ok=
for _ in $(seq 1 40); do
  if t 5 munge -n 2>/dev/null | t 5 unmunge >/dev/null 2>&1; then ok=1 && break; fi
  sleep 0.5
done
[ -n "$ok" ] || { echo "slurm-up: munged did not come up" >&2; exit 1; }

# --- slurm.conf ---
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
CONF=$(
  cat <<CONF
# written by xstilts .ci/slurm-up.sh: a single-node cluster for CI
ClusterName=localcluster
SlurmctldHost=${HOST}(127.0.0.1)
AuthType=auth/munge
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MinJobAge=3600
KillWait=5
NodeName=${HOST} NodeAddr=127.0.0.1 CPUs=${NCPU} RealMemory=${MEM_MB} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
)
changed=
if [ "$(cat /etc/slurm/slurm.conf 2>/dev/null)" != "$CONF" ]; then
  printf '%s\n' "$CONF" >/etc/slurm/slurm.conf
  changed=1
fi

# --- daemons ---
stop() { # pid file: stop the daemon it names, wait (bounded) until it is gone
  if alive "$1"; then
    kill "$(cat "$1")" 2>/dev/null || true
    for _ in $(seq 1 20); do alive "$1" || break; sleep 0.5; done
    if alive "$1"; then kill -9 "$(cat "$1")" 2>/dev/null || true; fi
  fi
}
if [ -n "$changed" ]; then
  stop /run/slurmd.pid
  stop /run/slurmctld.pid
fi
alive /run/slurmctld.pid || /usr/sbin/slurmctld
ok=
for _ in $(seq 1 40); do
  if t 5 scontrol ping 2>/dev/null | grep -q "is UP"; then ok=1 && break; fi
  sleep 0.5
done
[ -n "$ok" ] || { echo "slurm-up: slurmctld did not answer; see /var/log/slurm/slurmctld.log" >&2; exit 1; }
alive /run/slurmd.pid || /usr/sbin/slurmd

# the node must be usable: idle, mixed or allocated (a leftover job may be running)
state=
for _ in $(seq 1 60); do
  state=$(t 5 sinfo -h -N -o %t 2>/dev/null | head -n1 || true)
  case "$state" in idle | mix | alloc | comp) break ;; esac
  # a node left down/drained by an earlier run is brought back
  case "$state" in down* | drain* | drng*)
    t 5 scontrol update NodeName="$HOST" State=RESUME >/dev/null 2>&1 || true ;;
  esac
  sleep 0.5
done
case "$state" in idle | mix | alloc | comp) ;; *)
  echo "slurm-up: node state is '${state}' (want idle); see /var/log/slurm/slurmd.log" >&2
  exit 1
  ;;
esac
t 10 sinfo
