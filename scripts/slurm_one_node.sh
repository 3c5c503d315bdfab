#!/usr/bin/env bash
# A one-node SLURM cluster with job accounting, on this machine, for `make cluster-test`.
#
#   scripts/slurm_one_node.sh start    install what is missing, configure, start, wait until the node is idle
#   scripts/slurm_one_node.sh stop     stop the daemons (by their pid files)
#   scripts/slurm_one_node.sh status   what runs, the node and the accounting
#
# What `start` does (as root, on Debian; CI runs it on a fresh machine, a second run on the same
# machine keeps what already works):
#   1. installs Debian's slurm-wlm (slurmctld, slurmd, the client commands), slurmdbd, munge and
#      mariadb-server with apt-get when one of them is missing, without starting any service;
#   2. writes /etc/slurm/slurm.conf, slurmdbd.conf, gres.conf and cgroup.conf for a cluster
#      `frbench` of one node, this machine, under its own host name, with the CPUs `slurmd -C`
#      reports, one partition `main`, and accounting through slurmdbd into MariaDB as on a site
#      (sacctmgr knows the accounts, sacct every job's state and claims; without slurmdbd, sacct
#      has nothing to say and the plugin cannot check an account);
#   3. starts munged, MariaDB, slurmdbd, slurmctld and slurmd directly (containers have no
#      systemd), registers the cluster, the account `frbench` and root as its user with
#      sacctmgr, and waits until `sinfo` shows the node idle.
# Every wait has a timeout; on a timeout, or when a daemon exits, the script stops with the tails
# of the daemons' logs. Files it did not write (a slurm.conf without its marker line) are never
# overwritten. Settings: FRBENCH_SLURM_TIMEOUT (seconds a wait may take, 120), FRBENCH_NODE_MEM_MB.
#
# The node is a test double of a GPU node, on purpose: it declares two GPUs (their device files are
# links to /dev/null: this machine has none) and at least FRBENCH_NODE_MEM_MB (64 GB) of memory, so
# that the slurm profile's claims for paper-scale training (`--gpus=1 --mem 32000`) are scheduled
# as on a GPU node, while the tiny study's jobs run on the CPU in far less. Nothing enforces the claims
# (no cgroups: containers rarely allow them); what the test checks is that the jobs ask for them.
set -euo pipefail

CLUSTER=frbench
ACCOUNT=frbench
PARTITION=main
MARKER="# written by frbench scripts/slurm_one_node.sh"
NODE_MEM_MB=${FRBENCH_NODE_MEM_MB:-65536}  # the memory the node declares, when it has less
GPUS=2
TIMEOUT=${FRBENCH_SLURM_TIMEOUT:-120}  # seconds, the most any one wait takes
DB_PASS=frbench-slurmdbd  # local MariaDB, reachable from this machine only
ETC=/etc/slurm
LOGDIR=/var/log/slurm
RUNDIR=/run/slurm
SPOOL=/var/lib/slurm
NODE=$(hostname -s)

say() { echo "slurm_one_node: $*"; }
die() { echo "slurm_one_node: error: $*" >&2; exit 1; }

# wait_for PIDFILE DESCRIPTION COMMAND...: run COMMAND every second until it succeeds; stop with
# the description and the tail of every log this script writes after TIMEOUT seconds, or as soon
# as the daemon of PIDFILE ("-": none) has exited (after a few seconds' grace: a daemon that forks
# writes its pid file a moment after the command that started it returns). Each try of COMMAND
# is itself limited to 20 s, so that a client stuck on a daemon cannot hang the script.
wait_for() {
    local pidfile=$1 what=$2
    shift 2
    local start=$SECONDS deadline=$((SECONDS + TIMEOUT)) why=
    until timeout 20 "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            why="timed out after ${TIMEOUT}s waiting for $what"
        elif [[ $pidfile != - ]] && ((SECONDS - start >= 5)) && ! alive "$pidfile"; then
            why="the daemon exited while waiting for $what"
        fi
        if [[ -n $why ]]; then
            echo "slurm_one_node: error: $why" >&2
            for log in "$LOGDIR"/*.log /var/log/mysql/frbench.log; do
                [[ -f $log ]] && { echo "--- tail of $log" >&2; tail -n 20 "$log" >&2; }
            done
            exit 1
        fi
        sleep 1
    done
}

# alive PIDFILE: the process named in PIDFILE runs.
alive() { [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# write_if_changed FILE MODE OWNER: write stdin to FILE unless it holds exactly that; exit status 0
# when the file changed (so that the daemon reading it is restarted). Refuses to replace a file that
# this script did not write.
write_if_changed() {
    local file=$1 mode=$2 owner=$3 new
    new=$(cat)
    if [[ -f $file ]]; then
        grep -qxF "$MARKER" "$file" || die "$file exists and was not written by this script; not touching it"
        [[ $(cat "$file") == "$new" ]] && return 1
    fi
    printf '%s\n' "$new" >"$file"
    chmod "$mode" "$file"
    chown "$owner" "$file"
    return 0
}

# stop_daemon NAME PIDFILE: TERM, then KILL after 20 s.
stop_daemon() {
    local name=$1 pidfile=$2 pid
    alive "$pidfile" || return 0
    pid=$(cat "$pidfile")
    say "stopping $name (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || return 0; sleep 1; done
    kill -9 "$pid" 2>/dev/null || true
}

install_packages() {
    local missing=()
    command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null \
        || missing+=(slurm-wlm)
    command -v slurmdbd >/dev/null || missing+=(slurmdbd)
    command -v munged >/dev/null || missing+=(munge)
    command -v mariadbd >/dev/null || missing+=(mariadb-server)
    ((${#missing[@]})) || return 0
    command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get to install them"
    say "installing ${missing[*]}"
    # Packages would start their services on installation: they are started below, configured.
    local policy=/usr/sbin/policy-rc.d added_policy=
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && added_policy=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null || { [[ -n $added_policy ]] && rm -f "$policy"; die "apt-get install failed"; }
    [[ -n $added_policy ]] && rm -f "$policy"
    return 0
}

write_configs() {
    # The node as slurmd sees it (CPUs, sockets, cores, threads, memory), its memory raised to
    # NODE_MEM_MB when lower (see the header), and the GPUs.
    local node_line cpus mem
    node_line=$(slurmd -C | head -n 1)
    [[ $node_line == NodeName=* ]] || die "slurmd -C did not describe this node: $node_line"
    cpus=$(sed -n 's/.* CPUs=\([0-9]*\).*/\1/p' <<<"$node_line")
    mem=$(sed -n 's/.* RealMemory=\([0-9]*\).*/\1/p' <<<"$node_line")
    ((mem < NODE_MEM_MB)) && mem=$NODE_MEM_MB
    node_line=$(sed "s/^NodeName=[^ ]*/NodeName=$NODE/; s/ RealMemory=[0-9]*/ RealMemory=$mem/" <<<"$node_line")

    mkdir -p "$ETC" "$LOGDIR" "$RUNDIR" "$SPOOL/slurmctld" "$SPOOL/slurmd"
    chown slurm:slurm "$LOGDIR" "$RUNDIR" "$SPOOL/slurmctld"

    CHANGED_CTL= CHANGED_DBD=
    write_if_changed "$ETC/slurm.conf" 644 root:root <<EOF && CHANGED_CTL=1
$MARKER
# One node, $NODE ($cpus CPUs), which is also the controller; accounting through slurmdbd.
ClusterName=$CLUSTER
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=slurm
AuthType=auth/munge
StateSaveLocation=$SPOOL/slurmctld
SlurmdSpoolDir=$SPOOL/slurmd
SlurmctldPidFile=$RUNDIR/slurmctld.pid
SlurmdPidFile=$RUNDIR/slurmd.pid
SlurmctldLogFile=$LOGDIR/slurmctld.log
MailProg=/bin/true
SlurmdLogFile=$LOGDIR/slurmd.log
# Processes are tracked without cgroups, which containers rarely delegate (cgroup.conf is still read).
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
# The node's declared memory may exceed what this machine has (see scripts/slurm_one_node.sh).
SlurmdParameters=config_overrides
ReturnToService=2
# Accounting: job states for sacct, and jobs only for users with an association (as on a site).
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStorageEnforce=associations
AccountingStorageTRES=gres/gpu
# sacct shows a job's comment, where the plugin writes the job's rule and wildcards.
AccountingStoreFlags=job_comment
JobCompType=jobcomp/none
# Finished jobs stay visible to squeue for 5 minutes (the plugin's own default assumption).
MinJobAge=300
# A job cancelled by scancel is killed within seconds.
KillWait=5
$node_line Gres=gpu:$GPUS State=UNKNOWN NodeAddr=127.0.0.1
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
    # Slurm drops a GPU without a device file, and wants a character device: links to /dev/null.
    local i
    for ((i = 0; i < GPUS; i++)); do ln -sfn /dev/null "$SPOOL/fake_gpu$i"; done
    write_if_changed "$ETC/gres.conf" 644 root:root <<EOF && CHANGED_CTL=1
$MARKER
# Stand-in GPUs for the scheduler: links to /dev/null; jobs get CUDA_VISIBLE_DEVICES and no GPU.
NodeName=$NODE Name=gpu File=$SPOOL/fake_gpu[0-$((GPUS - 1))]
EOF
    write_if_changed "$ETC/cgroup.conf" 644 root:root <<EOF && CHANGED_CTL=1
$MARKER
# Read by slurmd; nothing is constrained (ProctrackType=proctrack/linuxproc, TaskPlugin=task/none).
CgroupPlugin=autodetect
ConstrainCores=no
ConstrainRAMSpace=no
ConstrainDevices=no
EOF
    write_if_changed "$ETC/slurmdbd.conf" 600 slurm:slurm <<EOF && CHANGED_DBD=1
$MARKER
AuthType=auth/munge
DbdHost=localhost
SlurmUser=slurm
LogFile=$LOGDIR/slurmdbd.log
PidFile=$RUNDIR/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=$DB_PASS
StorageLoc=slurm_acct_db
EOF
    return 0
}

start_munge() {
    [[ -s /etc/munge/munge.key ]] || { say "creating the munge key"; mungekey --create --force; }
    chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
    mkdir -p /run/munge && chown munge:munge /run/munge
    if ! alive /run/munge/munged.pid; then
        say "starting munged"
        runuser -u munge -- /usr/sbin/munged --force
    fi
    wait_for /run/munge/munged.pid "munge to encode and decode a credential" sh -c 'munge -n | unmunge'
}

start_mariadb() {
    mkdir -p /run/mysqld /var/log/mysql && chown mysql:mysql /run/mysqld /var/log/mysql
    [[ -d /var/lib/mysql/mysql ]] || mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
    if ! mariadb-admin ping >/dev/null 2>&1; then
        say "starting MariaDB"
        setsid nohup /usr/sbin/mariadbd --user=mysql --log-error=/var/log/mysql/frbench.log \
            >/dev/null 2>&1 </dev/null &
    fi
    wait_for - "MariaDB to answer" mariadb-admin ping
    mariadb -e "CREATE DATABASE IF NOT EXISTS slurm_acct_db;
        CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DB_PASS';
        GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';"
}

start_slurmdbd() {
    [[ -n $CHANGED_DBD ]] && stop_daemon slurmdbd "$RUNDIR/slurmdbd.pid"
    if ! alive "$RUNDIR/slurmdbd.pid"; then
        say "starting slurmdbd"
        slurmdbd
    fi
    wait_for "$RUNDIR/slurmdbd.pid" "slurmdbd to answer sacctmgr" sacctmgr -n list cluster
    # The cluster, an account on it and root as its user, each added once.
    [[ -n $(sacctmgr -n -P list cluster "$CLUSTER" format=cluster) ]] \
        || sacctmgr -i add cluster "$CLUSTER" >/dev/null
    [[ -n $(sacctmgr -n -P list account "$ACCOUNT" format=account) ]] \
        || sacctmgr -i add account "$ACCOUNT" cluster="$CLUSTER" description="frbench tests" organization=frbench >/dev/null
    [[ -n $(sacctmgr -n -P list association cluster="$CLUSTER" account="$ACCOUNT" user=root format=user) ]] \
        || sacctmgr -i add user root account="$ACCOUNT" defaultaccount="$ACCOUNT" cluster="$CLUSTER" >/dev/null
}

start_slurm() {
    if [[ -n $CHANGED_CTL ]]; then
        stop_daemon slurmd "$RUNDIR/slurmd.pid"
        stop_daemon slurmctld "$RUNDIR/slurmctld.pid"
    fi
    if ! alive "$RUNDIR/slurmctld.pid"; then
        say "starting slurmctld"
        slurmctld
    fi
    wait_for "$RUNDIR/slurmctld.pid" "slurmctld to answer" sh -c 'scontrol ping | grep -q UP'
    if ! alive "$RUNDIR/slurmd.pid"; then
        say "starting slurmd"
        slurmd
    fi
    # A node that was down (a killed slurmd, an earlier run's reboot) is put back into service.
    wait_for "$RUNDIR/slurmd.pid" "node $NODE to register" sh -c "sinfo -h -n $NODE -o %t | grep -qv '^$'"
    if sinfo -h -n "$NODE" -o %t | grep -qE 'down|drain|fail'; then
        scontrol update nodename="$NODE" state=resume || true
    fi
    wait_for "$RUNDIR/slurmd.pid" "node $NODE to be idle (sinfo)" sh -c "sinfo -h -n $NODE -o %t | grep -qxE 'idle|mix|alloc'"
}

start() {
    [[ $(id -u) == 0 ]] || die "run as root: it installs packages and starts daemons"
    install_packages
    write_configs
    start_munge
    start_mariadb
    start_slurmdbd
    start_slurm
    say "ready: cluster $CLUSTER, node $NODE, partition $PARTITION, account $ACCOUNT"
    sinfo -N -o "%N %t %c %m %G"
}

stop() {
    stop_daemon slurmd "$RUNDIR/slurmd.pid"
    stop_daemon slurmctld "$RUNDIR/slurmctld.pid"
    stop_daemon slurmdbd "$RUNDIR/slurmdbd.pid"
    stop_daemon MariaDB /run/mysqld/mysqld.pid
    stop_daemon munged /run/munge/munged.pid
}

status() {
    local name pidfile
    for name in munged:/run/munge/munged.pid mariadbd:/run/mysqld/mysqld.pid slurmdbd:$RUNDIR/slurmdbd.pid \
        slurmctld:$RUNDIR/slurmctld.pid slurmd:$RUNDIR/slurmd.pid; do
        pidfile=${name#*:}
        if alive "$pidfile"; then echo "${name%%:*}: running (pid $(cat "$pidfile"))"; else echo "${name%%:*}: stopped"; fi
    done
    sinfo -N -o "%N %t %c %m %G" 2>/dev/null || true
    sacctmgr -n -P list association cluster="$CLUSTER" format=cluster,account,user 2>/dev/null || true
}

case ${1:-start} in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) die "usage: $0 [start|stop|status]" ;;
esac
