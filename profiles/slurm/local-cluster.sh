#!/usr/bin/env bash
# A real single-node SLURM cluster on this machine, to test the slurm profile end to end (jobs go through sbatch,
# their state through sacct). Loopback only; run as root on a throwaway machine (it writes /etc/slurm).
#
#   profiles/slurm/local-cluster.sh start   # installs the Debian packages if missing, then starts munge, MariaDB,
#                                           # slurmdbd, slurmctld and slurmd, and registers cluster/account "ubn"
#   profiles/slurm/local-cluster.sh stop    # stops what start started, by PID, in reverse order
#
# The node advertises one stand-in GPU (gres gpu:1 on /dev/null) so that jobs asking for --gpus=1 are scheduled
# as on a GPU cluster; nothing here has a GPU, so such jobs compute on the CPU. No cgroups: memory and CPU limits
# are not enforced. Facts behind each setting: ../shared/notes/slurm-local.md.
set -euo pipefail

STATE=${UBN_SLURM_STATE:-/tmp/ubn-slurm}
CLUSTER=ubn
ACCOUNT=ubn
DB_PASSWORD=ubn-local-only
PACKAGES=(slurmctld slurmd slurm-client slurmdbd munge mariadb-server)
# Start order; stop walks it backwards.
DAEMONS=(munged mariadbd slurmdbd slurmctld slurmd)

log() { echo "local-cluster: $*" >&2; }

wait_for() { # wait_for <what> <seconds> <command...>
    local what=$1 seconds=$2
    shift 2
    for _ in $(seq $((seconds * 5))); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    log "$what did not come up in ${seconds}s; logs in $STATE"
    return 1
}

install_packages() {
    if command -v slurmctld >/dev/null && command -v slurmdbd >/dev/null && command -v mariadbd >/dev/null \
        && command -v munged >/dev/null && command -v sbatch >/dev/null; then
        return
    fi
    log "installing ${PACKAGES[*]} (Debian)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >"$STATE/apt.log" 2>&1 \
        || { log "apt-get install failed; see $STATE/apt.log"; exit 1; }
}

write_configs() {
    local node memory
    # slurmd -C prints this machine's node line; RealMemory at 90% leaves room for the daemons.
    node=$(slurmd -C | head -1 | sed -E 's/ RealMemory=[0-9]+//')
    memory=$(($(free -m | awk '/^Mem:/ {print $2}') * 9 / 10))
    mkdir -p /etc/slurm
    cat >/etc/slurm/slurm.conf <<EOF
# Written by profiles/slurm/local-cluster.sh: a loopback-only single-node test cluster.
ClusterName=$CLUSTER
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStorageEnforce=associations
AccountingStorageTRES=gres/gpu
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
GresTypes=gpu
$node RealMemory=$memory NodeAddr=127.0.0.1 Gres=gpu:1 State=UNKNOWN
PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    cat >/etc/slurm/gres.conf <<EOF
# One stand-in GPU: slurmd counts a gpu only with a device file, so /dev/null plays it (nothing is bound).
AutoDetect=off
Name=gpu File=/dev/null
EOF
    cat >/etc/slurm/slurmdbd.conf <<EOF
AuthType=auth/munge
DbdAddr=127.0.0.1
DbdHost=localhost
SlurmUser=root
PidFile=$STATE/slurmdbd.pid
LogFile=$STATE/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=$DB_PASSWORD
StorageLoc=slurm_acct_db
EOF
    chmod 600 /etc/slurm/slurmdbd.conf
}

start() {
    mkdir -p "$STATE/ctld" "$STATE/spool"
    if [ -s "$STATE/slurmd.pid" ] && kill -0 "$(cat "$STATE/slurmd.pid")" 2>/dev/null; then
        log "already running (state in $STATE)"
        return
    fi
    if pgrep -x slurmctld >/dev/null || pgrep -x munged >/dev/null; then
        log "a SLURM cluster (or munged) is already running here, not started from $STATE; stop it first"
        exit 1
    fi
    install_packages

    install -d -o munge -g munge /run/munge
    runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid
    cp /run/munge/munged.pid "$STATE/munged.pid"
    wait_for munge 10 bash -c 'munge -n | unmunge'

    install -d -o mysql -g mysql /run/mysqld
    mariadbd --user=mysql --bind-address=127.0.0.1 --skip-name-resolve --socket=/run/mysqld/mysqld.sock \
        >"$STATE/mariadb.log" 2>&1 &
    echo $! >"$STATE/mariadbd.pid"
    wait_for MariaDB 30 mariadb-admin --socket=/run/mysqld/mysqld.sock ping
    mariadb --socket=/run/mysqld/mysqld.sock -e "CREATE DATABASE IF NOT EXISTS slurm_acct_db;
        CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
        GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';"

    write_configs
    slurmdbd
    wait_for slurmdbd 30 sacctmgr -n list cluster
    sacctmgr -i add cluster "$CLUSTER" >/dev/null || true
    sacctmgr -i add account "$ACCOUNT" Cluster="$CLUSTER" Description=local Organization=local >/dev/null || true
    sacctmgr -i add user root DefaultAccount="$ACCOUNT" Account="$ACCOUNT" Cluster="$CLUSTER" >/dev/null || true

    slurmctld
    wait_for slurmctld 30 bash -c 'scontrol ping | grep -q UP'
    slurmd
    wait_for "slurmd registration" 30 bash -c 'sinfo -h -o %T | grep -qv "unk"'
    # A node drained by an earlier run (its state persists in $STATE/ctld) is taken back into service.
    if sinfo -h -o %T | grep -Eq 'drain|inval'; then scontrol update nodename="$(sinfo -h -o %n)" state=resume; fi
    wait_for slurmd 30 bash -c '[ "$(sinfo -h -o %T | head -1)" = idle ]'
    log "up: partition main, account $ACCOUNT, $(sinfo -h -o '%c CPUs, %m MB, %G')"
}

stop() {
    local i daemon pid
    for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do
        daemon=${DAEMONS[$i]}
        [ -s "$STATE/$daemon.pid" ] || continue
        pid=$(cat "$STATE/$daemon.pid")
        if kill "$pid" 2>/dev/null; then
            for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$STATE/$daemon.pid"
    done
    log "stopped"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
