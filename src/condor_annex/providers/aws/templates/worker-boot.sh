#!/bin/bash
# condor-annex worker boot script: the EC2 user data of every annex worker.
# Kept as a file in the package (condor_annex/providers/aws/templates/worker-boot.sh);
# `annex create` fills in the values marked {{...}} below and nothing else.
#
# At boot it
#   1. blocks the instance metadata service for every user but root and condor, so jobs
#      cannot borrow the instance role; if neither iptables nor nftables can put that in
#      place it stops here, before it fetches anything and without starting HTCondor;
#   2. asks the metadata service (IMDSv2 only: a session token, then GETs) for the
#      instance id;
#   3. fetches its annex's worker.config, lease.config and token from S3 (the instance
#      role can read annexes/<its annex>/ and nothing else);
#   4. installs them where HTCondor reads them, with the instance id filled in, makes a
#      user of its own for each slot (jobs never share `nobody`), and a worker-local
#      signing key and condor@ token (see local_key);
#   5. sets TCP_FORWARDING_HOST only if the annex asked for it (workers normally reach
#      the pool outbound through CCB and need no inbound port);
#   6. re-runs itself detached as a supervisor, which starts condor_master and then
#      - drains the worker when a spot interruption notice appears,
#      - picks up lease renewals (a new lease.config and token in S3), and
#      - powers the instance off once the master has exited (idle timeout or lease end;
#        the launch template makes shutdown terminate the instance).
set -eu
umask 022

# -- filled in by `annex create`
ANNEX_NAME={{annex}}
ANNEX_BUCKET={{bucket}}
ANNEX_PREFIX={{prefix}}
ANNEX_REGION={{region}}
ANNEX_TCP_FORWARDING_HOST={{tcp_forwarding_host}}  # "", "public-ipv4" or a host name
ANNEX_INSTALL_HTCONDOR={{install_htcondor}}  # 1: no image was baked; install HTCondor
ANNEX_EXTRA_CONFIG={{extra_config}}  # 1: the annex has -config-dir files

# -- settings: fixed here, nothing is read from the environment or a file. The tests run
# a copy with these lines replaced (tests/aws/bootvariant.py), never this script.
IMDS=http://169.254.169.254
S3_ENDPOINT=""
CONFIG_DIR=/etc/condor/condor-annex
LOCAL_DIR_OVERRIDE=""  # "": the LOCAL_DIR that worker.config names
STATE_DIR=/run/condor-annex
POLL_SECONDS=5
REFRESH_SECONDS=60
POWEROFF=1
SHARED_HOST=0  # 1: the pool's daemons share this host, so no family session
# -- end of settings
export CONDOR_CONFIG="$CONFIG_DIR/worker.config"
export PATH="$PATH:/usr/sbin:/usr/bin:/sbin:/bin"

# @IMDS_BLOCK@

log() { echo "condor-annex-boot[$ANNEX_NAME]: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# -- IMDSv2
IMDS_TOKEN=""
IMDS_TOKEN_AT=0

imds_token() {
    # A session token lasts 6 hours; take a fresh one every hour.
    if [ -z "$IMDS_TOKEN" ] || [ $((SECONDS - IMDS_TOKEN_AT)) -ge 3600 ]; then
        IMDS_TOKEN=$(curl -sf --max-time 5 -X PUT \
            -H "X-aws-ec2-metadata-token-ttl-seconds: 21600" "$IMDS/latest/api/token") ||
            return 1
        IMDS_TOKEN_AT=$SECONDS
    fi
}

imds_get() {  # path under /latest/, e.g. meta-data/instance-id; fails on 404
    imds_token || return 1
    curl -sf --max-time 5 -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" "$IMDS/latest/$1"
}

imds_vpc_id() {  # the VPC of the primary interface, e.g. vpc-0abc; fails off EC2
    local mac vpc
    mac=$(imds_get meta-data/mac) || return 1
    vpc=$(imds_get "meta-data/network/interfaces/macs/$mac/vpc-id") || return 1
    case $vpc in vpc-*) ;; *) return 1 ;; esac
    case $vpc in *[!A-Za-z0-9-]*) return 1 ;; esac
    echo "$vpc"
}

# -- S3
fetch() {  # fetch PIECE DEST: one object of this annex into a file
    local key="$ANNEX_PREFIX$1" dest=$2
    if command -v aws >/dev/null 2>&1 && aws --version >/dev/null 2>&1; then
        aws ${S3_ENDPOINT:+--endpoint-url "$S3_ENDPOINT"} --region "$ANNEX_REGION" \
            s3 cp --only-show-errors "s3://$ANNEX_BUCKET/$key" "$dest"
    elif command -v python3 >/dev/null 2>&1 && python3 -c "import boto3" 2>/dev/null; then
        python3 - "$ANNEX_BUCKET" "$key" "$dest" "$ANNEX_REGION" "$S3_ENDPOINT" <<'PY'
import sys, boto3
bucket, key, dest, region, endpoint = sys.argv[1:6]
s3 = boto3.client("s3", region_name=region, endpoint_url=endpoint or None)
s3.download_file(bucket, key, dest)
PY
    else
        die "neither the aws command nor python3 with boto3 is installed; the image needs one"
    fi
}

# fetch_all DIR: the three pieces into DIR (token readable by root only).
fetch_all() {
    local piece
    for piece in worker.config lease.config token; do
        (umask 077 && fetch "$piece" "$1/$piece") || return 1
    done
}

# -- installing the configuration
install_config() {  # install_config FETCHED_DIR INSTANCE_ID
    local src=$1 id=$2 config
    config=$(sed "s/@ANNEX_INSTANCE_ID@/$id/g" "$src/worker.config")
    if [ -n "$LOCAL_DIR_OVERRIDE" ]; then
        config=$(printf '%s\n' "$config" | sed \
            -e "s|^LOCAL_DIR = .*|LOCAL_DIR = $LOCAL_DIR_OVERRIDE|" \
            -e "s|^include : .*/lease.config\$|include : $LOCAL_DIR_OVERRIDE/lease.config|")
    fi
    LOCAL_DIR=$(printf '%s\n' "$config" | sed -n 's/^LOCAL_DIR = //p')
    [ -n "$LOCAL_DIR" ] || die "worker.config has no LOCAL_DIR line"

    mkdir -p "$CONFIG_DIR" "$LOCAL_DIR"
    for sub in log spool execute lock run cred_dir; do mkdir -p "$LOCAL_DIR/$sub"; done
    chmod 755 "$LOCAL_DIR/execute"
    if id condor >/dev/null 2>&1; then
        chown condor: "$LOCAL_DIR"/log "$LOCAL_DIR"/spool "$LOCAL_DIR"/execute \
            "$LOCAL_DIR"/lock "$LOCAL_DIR"/run "$LOCAL_DIR"/cred_dir
    fi
    mkdir -p "$LOCAL_DIR/passwords.d" "$LOCAL_DIR/tokens.d"
    chmod 700 "$LOCAL_DIR/passwords.d" "$LOCAL_DIR/tokens.d"

    printf '%s\n' "$config" >"$CONFIG_DIR/worker.config"
    forwarding_config >>"$CONFIG_DIR/worker.config"
    install_lease "$src" || die "lease.config is not one AnnexLeaseEnd line; refusing it"
    if [ "$SHARED_HOST" = 1 ]; then
        echo "SEC_USE_FAMILY_SESSION = False" >>"$CONFIG_DIR/worker.config"
        log "sharing the host with the pool: no family session"
    fi
    slot_users >>"$CONFIG_DIR/worker.config"
    local_key
}

# slot_users: a user of its own for each slot (made here unless it exists), so jobs of
# different owners on one worker cannot touch each other's processes or files. A slot
# N of static slots and a dynamic slot 1_N of the partitionable one share condor-slotN;
# at most NUM_CPUS run at once. None of them may reach the metadata service.
slot_users() {
    local cpus i user
    cpus=$(condor_config_val NUM_CPUS) || die "worker.config gives no NUM_CPUS"
    case $cpus in "" | *[!0-9]*) die "unexpected NUM_CPUS '$cpus'" ;; esac
    for i in $(seq 1 "$cpus"); do
        user=condor-slot$i
        id "$user" >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin "$user" >/dev/null || die "cannot add the user $user"
        echo "SLOT${i}_USER = $user"
        echo "SLOT1_${i}_USER = $user"
    done
    echo "DEDICATED_EXECUTE_ACCOUNT_REGEXP = condor-slot[0-9]+"
}

# local_key: a signing key only this worker has, and a condor@ token from it, so the
# supervisor's condor_drain (as condor@, an administrator of the worker) reaches its own
# startd. The pool cannot verify this token, so it is good on this worker only.
local_key() {
    local uid_domain
    uid_domain=$(condor_config_val UID_DOMAIN) || die "worker.config has no UID_DOMAIN"
    (umask 077 && od -An -tx1 -N48 /dev/urandom | tr -d ' \n' >"$LOCAL_DIR/passwords.d/WORKER")
    (umask 077 && condor_token_create -identity "condor@$uid_domain" -key WORKER \
        >"$LOCAL_DIR/tokens.d/local") || die "cannot make the worker-local token"
}

# lease_ok FILE: a lease.config is exactly its one line, `AnnexLeaseEnd = <seconds>`.
# HTCondor includes it as configuration, so nothing else in it may reach the worker.
lease_ok() {
    [ "$(wc -l <"$1")" -eq 1 ] && grep -Eqx 'AnnexLeaseEnd = [0-9]{1,12}' "$1"
}

install_lease() {  # the pieces a renewal changes (the lease checked first)
    lease_ok "$1/lease.config" || return 1
    install -m 600 "$1/token" "$LOCAL_DIR/tokens.d/annex"
    install -m 644 "$1/lease.config" "$LOCAL_DIR/lease.config"
}

forwarding_config() {
    local host=$ANNEX_TCP_FORWARDING_HOST vpc
    # Daemons in the same VPC talk over private addresses even when one of them (the
    # seed) advertises a public one: HTCondor does so between equal PRIVATE_NETWORK_NAMEs.
    # The seed's start-up hook names its network the same way, after its VPC.
    if vpc=$(imds_vpc_id); then
        log "private network: $vpc"
        echo "PRIVATE_NETWORK_NAME = $vpc"
    fi
    [ -n "$host" ] || return 0
    if [ "$host" = public-ipv4 ]; then
        host=$(imds_get meta-data/public-ipv4) || die "asked for public-ipv4 forwarding, but the instance has no public IPv4 address"
    fi
    log "setting TCP_FORWARDING_HOST = $host"
    echo "TCP_FORWARDING_HOST = $host"
}

# -- no baked image: HTCondor from the annex's own copy of the install script ----------
install_htcondor() {
    [ "$ANNEX_INSTALL_HTCONDOR" = 1 ] || return 0
    command -v condor_master >/dev/null 2>&1 && return 0
    local dir
    dir=$(mktemp -d)
    log "installing HTCondor at boot (minutes; annex image build bakes an image)"
    if ! fetch install/image-common.sh "$dir/image-common.sh" ||
        ! fetch install/install-worker.sh "$dir/install-worker.sh"; then
        die "cannot fetch the install scripts"
    fi
    bash "$dir/install-worker.sh" >&2 || die "installing HTCondor failed"
    rm -rf "$dir"
}

# -- -config-dir: the annex's configuration files, read after worker.config -------------
install_extra_config() {
    [ "$ANNEX_EXTRA_CONFIG" = 1 ] || return 0
    local dir="$CONFIG_DIR/config.d" list name
    list=$(mktemp)
    fetch config.d.list "$list" || die "cannot fetch the annex's config.d.list"
    rm -rf "$dir" && mkdir -p "$dir"
    while IFS= read -r name; do
        case $name in "" | .* | *[!A-Za-z0-9._-]*) die "bad config file name '$name'" ;; esac
        fetch "config.d/$name" "$dir/$name" || die "cannot fetch config.d/$name"
        chmod 644 "$dir/$name"
    done <"$list"
    rm -f "$list"
    echo "LOCAL_CONFIG_DIR = $dir" >>"$CONFIG_DIR/worker.config"
    log "installed the annex's configuration files in $dir"
}

# -- the supervisor
on_spot_notice() {
    local startd
    log "spot interruption notice: $(imds_get meta-data/spot/instance-action || true)"
    startd="$(condor_config_val STARTD_NAME 2>/dev/null || true)"  # INSTANCE@ANNEX: whole
    if condor_drain -graceful -reason "spot interruption" "$startd"; then
        log "draining $startd gracefully"
    else
        # SIGTERM is the master's graceful shutdown: jobs are vacated back to the queue.
        log "condor_drain failed; shutting the master down gracefully instead"
        kill -TERM "$MASTER_PID" 2>/dev/null || true
    fi
}

refresh_lease() {  # a renewal uploads a new lease.config and token; reconfigure on change
    local tmp
    tmp=$(mktemp -d)
    if (umask 077 && fetch lease.config "$tmp/lease.config" && fetch token "$tmp/token"); then
        if ! cmp -s "$tmp/lease.config" "$LOCAL_DIR/lease.config" ||
            ! cmp -s "$tmp/token" "$LOCAL_DIR/tokens.d/annex"; then
            if install_lease "$tmp"; then
                log "lease renewed ($(cat "$LOCAL_DIR/lease.config")); reconfiguring"
                kill -HUP "$MASTER_PID" 2>/dev/null || true  # the master's reconfig
            else
                log "the new lease.config is not one AnnexLeaseEnd line; keeping the current one"
            fi
        fi
    else
        log "could not fetch the lease (the lease may have ended); keeping the current one"
    fi
    rm -rf "$tmp"
}

supervise() {
    LOCAL_DIR=$(sed -n 's/^LOCAL_DIR = //p' "$CONDOR_CONFIG")
    condor_master -f &
    MASTER_PID=$!
    echo "$MASTER_PID" >"$STATE_DIR/master.pid"
    log "condor_master started (pid $MASTER_PID)"
    local notified=0 last_refresh=$SECONDS
    while kill -0 "$MASTER_PID" 2>/dev/null; do
        if [ "$notified" = 0 ] && imds_get meta-data/spot/instance-action >/dev/null 2>&1; then
            notified=1
            on_spot_notice
        fi
        if [ $((SECONDS - last_refresh)) -ge "$REFRESH_SECONDS" ]; then
            last_refresh=$SECONDS
            refresh_lease
        fi
        sleep "$POLL_SECONDS"
    done
    wait "$MASTER_PID" || true
    log "condor_master has exited"
    if [ "$POWEROFF" = 0 ]; then
        log "not powering off (POWEROFF=0)"
    else
        log "powering off; the instance terminates on shutdown"
        shutdown -h now || poweroff
    fi
}

# An image may enable its own HTCondor service; a second master with the distribution's
# config would join no pool and hold ports. This worker's master is the supervisor's.
stop_image_condor() {
    if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled --quiet condor 2>/dev/null; then
        systemctl disable --now condor >/dev/null 2>&1 || true
        log "stopped and disabled the image's own condor.service"
    fi
}

# -- boot
boot() {
    command -v curl >/dev/null 2>&1 || die "curl is not installed; the image needs it"
    install_htcondor
    command -v condor_master >/dev/null 2>&1 || die "HTCondor is not installed on the image"
    mkdir -p "$STATE_DIR"
    local instance_id fetched blocked
    # Before anything else: no token is fetched, no HTCondor started, unless it holds.
    blocked=$(block_metadata_service condor) ||
        die "job users could reach the metadata service; not starting HTCondor (the image needs iptables or nftables)"
    log "$blocked"
    instance_id=$(imds_get meta-data/instance-id) ||
        die "cannot read the instance id from the metadata service at $IMDS (IMDSv2)"
    case $instance_id in
        *[!A-Za-z0-9-]* | "") die "unexpected instance id from the metadata service" ;;
    esac
    log "instance $instance_id of annex $ANNEX_NAME"
    fetched=$(mktemp -d)
    fetch_all "$fetched" ||
        die "cannot fetch s3://$ANNEX_BUCKET/$ANNEX_PREFIX (ended lease, or no instance role?)"
    install_config "$fetched" "$instance_id"
    install_extra_config
    rm -rf "$fetched"
    log "configuration installed in $CONDOR_CONFIG"
    stop_image_condor
    # Its own session, so nothing (cloud-init ending, a closed terminal) takes it down.
    # Not nohup: an ignored SIGHUP would be inherited, and SIGHUP is the master's reconfig.
    if command -v setsid >/dev/null 2>&1; then
        setsid bash "$0" --supervise >>"$STATE_DIR/supervisor.log" 2>&1 </dev/null &
    else
        bash "$0" --supervise >>"$STATE_DIR/supervisor.log" 2>&1 </dev/null &
    fi
    echo "$!" >"$STATE_DIR/supervisor.pid"
    log "supervisor started (pid $!, log $STATE_DIR/supervisor.log)"
}

if [ "${1:-}" = --supervise ]; then
    supervise
else
    boot
fi
