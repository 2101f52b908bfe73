#!/bin/bash
# condor-annex image builder: the user data of ONE builder instance, rendered by
# `annex image build` (providers/aws/imagescript.py) and sent gzip-compressed (cloud-init
# unpacks it), so the install scripts fit in EC2's 16 KB.
#
# Run by cloud-init at boot, it
#   1. unpacks image-common.sh and install-<role>.sh into /run (memory, never imaged);
#   2. schedules the builder's own power-off at its deadline: the instance terminates on
#      shutdown, so even a build whose `annex` died ends by itself;
#   3. starts itself again, detached, and returns. The build must outlive cloud-init,
#      which writes its own state (this user data among it) until it finishes; the scrub
#      has to come after that, or the image would keep it.
# The detached part waits for cloud-init, runs install-<role>.sh, scrubs the builder,
# scans it for secrets, and only then PUTs a small JSON result (status, reason, HTCondor
# version, scan findings, the log's tail; never a secret) to a presigned S3 URL. The
# builder has no instance role and no AWS credentials: the URL lets it write that one
# object until the URL expires, nothing else. The URL stays in /run and in memory and is
# never printed. Progress: /run/condor-annex-image/build.log, and the serial console.
set -eu
umask 077

BUILD_ID={{build_id}}
ROLE={{role}}
EXTRAS={{extras}}
export HTCONDOR_SERIES={{htcondor_series}}
DEADLINE_MINUTES={{deadline_minutes}}
RESULT_URL={{result_url}}
WORK=/run/condor-annex-image

log() { echo "condor-annex-image[$BUILD_ID]: $*"; }

unpack() {
    mkdir -p "$WORK"
    chmod 700 "$WORK"
    # @EMBEDDED_FILES@
}

json_string() {  # $1 as a JSON string (tabs become spaces, other control characters go)
    local s=$1
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    printf '"%s"' "$(printf '%s' "$s" | tr '\t' ' ' | tr -d '\000-\037')"
}

json_lines() {  # the lines of file $1 as a JSON array of strings
    local first=1 line
    printf '['
    while IFS= read -r line; do
        [ "$first" = 1 ] || printf ','
        first=0
        json_string "$line"
    done <"$1"
    printf ']'
}

# report STATUS REASON: write the result object, once. Retried: a lost result costs
# the whole build.
report() {
    [ ! -e "$WORK/reported" ] || return 0
    : >"$WORK/reported"
    local source="" tail="$WORK/log-tail"
    [ -r /etc/condor-annex/image ] && source=$(sed -n 's/^htcondor_source=//p' /etc/condor-annex/image)
    touch "$WORK/findings"
    tail -n 20 "$WORK/build.log" >"$tail" 2>/dev/null || : >"$tail"
    {
        printf '{"build_id":%s,"role":%s,' "$(json_string "$BUILD_ID")" "$(json_string "$ROLE")"
        printf '"status":%s,"reason":%s,' "$(json_string "$1")" "$(json_string "$2")"
        printf '"htcondor_version":%s,' "$(json_string "$(htcondor_version || true)")"
        printf '"htcondor_source":%s,' "$(json_string "$source")"
        printf '"secret_scan":%s,"log_tail":%s}\n' "$(json_lines "$WORK/findings")" \
            "$(json_lines "$tail")"
    } >"$WORK/result.json"
    local attempt
    for attempt in 1 2 3 4 5 6; do
        if curl -fsS --connect-timeout 10 --max-time 60 -X PUT \
            -H 'Content-Type: application/json' --data-binary "@$WORK/result.json" \
            "$RESULT_URL" >/dev/null; then
            log "reported $1 to condor-annex"
            return 0
        fi
        log "could not report the result (attempt $attempt); retrying"
        sleep $((attempt * 5))
    done
    log "ERROR: the result could not be reported; condor-annex will time out"
}

on_exit() {
    local status=$1
    if [ "$status" != 0 ]; then
        report failure "${CURRENT_STEP:-the build} failed (exit $status)"
    fi
}

wait_for_cloud_init() {
    command -v cloud-init >/dev/null 2>&1 || return 0
    step "waiting for cloud-init to finish"
    timeout 1200 cloud-init status --wait >/dev/null 2>&1 ||
        say "cloud-init finished with errors (or not in time); going on"
}

build() {
    # shellcheck source=image-common.sh
    . "$WORK/image-common.sh"
    trap 'on_exit $?' EXIT
    say "build $BUILD_ID: a $ROLE image${EXTRAS:+ with $EXTRAS}, HTCondor $HTCONDOR_SERIES"
    wait_for_cloud_init
    step "installing the $ROLE role"
    bash "$WORK/install-$ROLE.sh" --extras "$EXTRAS"
    detect_os >/dev/null
    scrub
    step "scanning the builder for secrets"
    secret_scan >"$WORK/findings"
    if [ -s "$WORK/findings" ]; then
        say "the secret scan found $(wc -l <"$WORK/findings") item(s); condor-annex will refuse the image"
    else
        say "the secret scan found nothing"
    fi
    report success ""
}

if [ "${1:-}" = --detached ]; then
    if [ -w /dev/console ]; then
        exec > >(tee -a "$WORK/build.log" >/dev/console) 2>&1
    else
        exec >>"$WORK/build.log" 2>&1
    fi
    build
    exit 0
fi

unpack
cp "$0" "$WORK/build.sh"
shutdown -h "+$DEADLINE_MINUTES" "condor-annex image build $BUILD_ID: deadline" 2>/dev/null ||
    log "WARNING: could not schedule the deadline power-off"
setsid bash "$WORK/build.sh" --detached </dev/null >/dev/null 2>&1 &
log "building in the background: $WORK/build.log and the serial console"
