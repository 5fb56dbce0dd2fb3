#!/usr/bin/env bash
# A single-node SLURM cluster for tests: munged (as user munge) + slurmctld + slurmd (as root),
# every file under one state folder, no accounting daemon, one fake GPU.
#
#   tests/slurm/cluster.sh up       write configs, start the daemons, wait until the node is idle
#   tests/slurm/cluster.sh down     stop the daemons this script started (by PID, never by name)
#   tests/slurm/cluster.sh status   print sinfo; exit 0 when the cluster answers
#   tests/slurm/cluster.sh env      print `export SLURM_CONF=...` for the shell
#
# State folder: $PSVL_SLURM_DIR (default /tmp/psvl-slurm). Clients find the cluster through
# SLURM_CONF=$PSVL_SLURM_DIR/etc/slurm.conf (the pytest fixture sets it), and /etc/slurm/slurm.conf
# links to it: the plugin's job step drops SLURM_* variables before its nested `srun`, which then
# reads the default path (an existing regular file there is left alone and `up` stops).
# Needs root and the Debian packages slurmctld slurmd slurm-client munge (tests/slurm/ci_setup.sh).
#
# What matters on this machine (measured, see issue 7 and docs/cluster.md):
#  - munged runs as user munge with a key owned by munge (mode 0400);
#  - ProctrackType=proctrack/linuxproc and TaskPlugin=task/none (no cgroups in the container);
#  - AccountingStorageType=accounting_storage/none, so `sacct` knows nothing: the workflow polls
#    with squeue, and MinJobAge=3600 keeps finished jobs visible to squeue long enough;
#  - a fake GPU: GresTypes=gpu, Gres=gpu:1 on the node, gres.conf AutoDetect=off File=/dev/null;
#    a job asking --gpus=1 runs with CUDA_VISIBLE_DEVICES=0 (the code still runs on the CPU).
set -euo pipefail

STATE=${PSVL_SLURM_DIR:-/tmp/psvl-slurm}
ETC=$STATE/etc
MUNGE=$STATE/munge
NODE=$(hostname -s)
CTLD_PORT=${PSVL_SLURM_CTLD_PORT:-6817}
SLURMD_PORT=${PSVL_SLURM_SLURMD_PORT:-6818}
CPUS=${PSVL_SLURM_CPUS:-$(nproc)}
# Memory is consumable (memory limits are part of what jobs ask for); slurmd takes the configured
# value over the detected one (config_overrides), so rules asking 8 GB schedule on a small CI box.
MEM_MB=${PSVL_SLURM_MEM_MB:-64000}
export SLURM_CONF=$ETC/slurm.conf

log() { echo "cluster.sh: $*" >&2; }

pid_alive() { [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

write_configs() {
    mkdir -p "$ETC" "$STATE/ctld" "$STATE/spool" "$STATE/log" "$MUNGE"
    cat >"$ETC/slurm.conf" <<EOF
# Written by tests/slurm/cluster.sh: a one-node test cluster, not a production config.
ClusterName=psvl
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE/munge.socket
CredType=cred/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmdParameters=config_overrides
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
SchedulerType=sched/backfill
ReturnToService=2
# squeue must still see a finished job when snakemake polls: >= 3x its first status interval.
MinJobAge=3600
InactiveLimit=0
KillWait=5
GresTypes=gpu
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
    cat >"$ETC/gres.conf" <<EOF
# One fake GPU: jobs asking --gpus=1 get CUDA_VISIBLE_DEVICES=0; no device is touched.
AutoDetect=off
NodeName=$NODE Name=gpu File=/dev/null
EOF
    rm -f "$ETC/cgroup.conf"
    if [[ ! -s $MUNGE/munge.key ]]; then
        mungekey --create --keyfile="$MUNGE/munge.key" --force >/dev/null
    fi
    chown -R munge:munge "$MUNGE"
    chmod 0755 "$MUNGE"  # munged: the socket folder must be searchable by all
    chmod 0400 "$MUNGE/munge.key"
}

SYSTEM_CONF=/etc/slurm/slurm.conf

link_system_conf() {
    if [[ -e $SYSTEM_CONF && ! -L $SYSTEM_CONF ]]; then
        log "$SYSTEM_CONF is a real config; not replacing it (srun inside jobs would use it)"
        exit 4
    fi
    mkdir -p "$(dirname "$SYSTEM_CONF")"
    ln -sfn "$ETC/slurm.conf" "$SYSTEM_CONF"
}

unlink_system_conf() {
    if [[ -L $SYSTEM_CONF && $(readlink "$SYSTEM_CONF") == "$ETC/slurm.conf" ]]; then
        rm -f "$SYSTEM_CONF"
    fi
}

wait_for() { # seconds, description, command...
    local seconds=$1 what=$2
    shift 2
    for _ in $(seq $((seconds * 5))); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    log "timed out after ${seconds}s waiting for $what"
    return 1
}

node_ready() { sinfo -h -N -o '%t' | grep -Eq '^(idle|mix|alloc)'; }

up() {
    for cmd in munged slurmctld slurmd sbatch squeue scontrol sinfo mungekey; do
        command -v "$cmd" >/dev/null || { log "missing $cmd: run tests/slurm/ci_setup.sh"; exit 3; }
    done
    [[ $(id -u) == 0 ]] || { log "needs root (slurmd runs jobs as their user)"; exit 3; }
    if pid_alive "$STATE/slurmctld.pid" && pid_alive "$STATE/slurmd.pid" && node_ready; then
        link_system_conf
        log "already up ($STATE)"
        return 0
    fi
    down || true
    write_configs
    link_system_conf
    runuser -u munge -- munged --socket="$MUNGE/munge.socket" --key-file="$MUNGE/munge.key" \
        --pid-file="$MUNGE/munged.pid" --log-file="$MUNGE/munged.log" --seed-file="$MUNGE/munged.seed"
    wait_for 10 munged munge -S "$MUNGE/munge.socket" -n
    # -c: start from a clean state (no jobs left over from an earlier cluster).
    slurmctld -c -f "$ETC/slurm.conf"
    wait_for 20 slurmctld scontrol ping
    slurmd -f "$ETC/slurm.conf" || { tail -n 20 "$STATE/log/slurmd.log" >&2; exit 1; }
    if ! wait_for 30 "the node to become idle" node_ready; then
        sinfo -N -l >&2 || true
        tail -n 20 "$STATE/log/slurmctld.log" "$STATE/log/slurmd.log" >&2 || true
        exit 1
    fi
    log "up: $(sinfo -h -N -o '%N %t cpus=%c mem=%m gres=%G')"
}

stop_pid() { # pidfile, name
    local pidfile=$1 name=$2 pid
    [[ -s $pidfile ]] || return 0
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        if kill -0 "$pid" 2>/dev/null; then
            log "$name ($pid) ignored SIGTERM; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$pidfile"
}

down() {
    # Cancel what is left in the queue first, so slurmd has no job steps to wait for.
    if [[ -f $ETC/slurm.conf ]] && pid_alive "$STATE/slurmctld.pid"; then
        scancel --quiet --user root 2>/dev/null || true
    fi
    stop_pid "$STATE/slurmd.pid" slurmd
    stop_pid "$STATE/slurmctld.pid" slurmctld
    stop_pid "$MUNGE/munged.pid" munged
    unlink_system_conf
}

case ${1:-} in
up) up ;;
down) down && log "down" ;;
status) sinfo && squeue ;;
env) echo "export SLURM_CONF=$ETC/slurm.conf" ;;
*)
    echo "usage: $0 up|down|status|env" >&2
    exit 2
    ;;
esac
