# shellcheck shell=bash
# condor-annex: keep local users away from the instance metadata service (and so from
# the instance's role). A library, never run by itself: its text is put into the seed's
# start-up hook and into every worker's boot script where they say "@IMDS_BLOCK@"
# (condor_annex.seed.with_imds_block), so both block it the same way.
#
# block_metadata_service USER...: only root and the USERs that exist here may reach
# 169.254.169.254 and fd00:ec2::254; every other local user's connection is refused.
# iptables and ip6tables first (an owner match in a chain of our own, rebuilt on each
# call), else nftables (a table of our own). Each rule is checked after it is put in
# place. Fails, saying why, when neither way works: callers must then refuse to go on.
IMDS_V4=169.254.169.254
IMDS_V6=fd00:ec2::254
IMDS_CHAIN=CONDOR-ANNEX-IMDS
IMDS_TABLE=condor_annex_imds

imds_allowed_uids() {  # root and each USER that exists, one uid a line
    local user
    echo 0
    for user; do
        id -u "$user" 2>/dev/null || true
    done
}

imds_block_xtables() {  # imds_block_xtables TOOL ADDRESS UID...
    local tool=$1 address=$2 uid
    shift 2
    command -v "$tool" >/dev/null 2>&1 || return 1
    "$tool" -w -N "$IMDS_CHAIN" 2>/dev/null || "$tool" -w -F "$IMDS_CHAIN" || return 1
    for uid; do
        "$tool" -w -A "$IMDS_CHAIN" -m owner --uid-owner "$uid" -j RETURN || return 1
    done
    "$tool" -w -A "$IMDS_CHAIN" -p tcp -j REJECT --reject-with tcp-reset || return 1
    "$tool" -w -A "$IMDS_CHAIN" -j DROP || return 1
    "$tool" -w -C OUTPUT -d "$address" -j "$IMDS_CHAIN" 2>/dev/null ||
        "$tool" -w -I OUTPUT 1 -d "$address" -j "$IMDS_CHAIN" || return 1
    "$tool" -w -C OUTPUT -d "$address" -j "$IMDS_CHAIN" 2>/dev/null
}

imds_block_nft() {  # imds_block_nft UID...
    local uids
    command -v nft >/dev/null 2>&1 || return 1
    uids=$(printf '%s\n' "$@" | paste -sd, -)
    nft -f - <<EOF || return 1
table inet $IMDS_TABLE
delete table inet $IMDS_TABLE
table inet $IMDS_TABLE {
    chain output {
        type filter hook output priority 0; policy accept;
        ip daddr $IMDS_V4 meta skuid != { $uids } meta l4proto tcp reject with tcp reset
        ip daddr $IMDS_V4 meta skuid != { $uids } drop
        ip6 daddr $IMDS_V6 meta skuid != { $uids } meta l4proto tcp reject with tcp reset
        ip6 daddr $IMDS_V6 meta skuid != { $uids } drop
    }
}
EOF
    nft list chain inet "$IMDS_TABLE" output >/dev/null 2>&1
}

block_metadata_service() {  # block_metadata_service USER...
    local uids
    # shellcheck disable=SC2046 # one uid a line, digits only
    set -- $(imds_allowed_uids "$@")
    uids="$*"
    if imds_block_xtables iptables "$IMDS_V4/32" "$@" 2>/dev/null &&
        imds_block_xtables ip6tables "$IMDS_V6/128" "$@" 2>/dev/null; then
        echo "metadata service blocked for all but uids $uids (iptables)"
    elif imds_block_nft "$@" 2>/dev/null; then
        echo "metadata service blocked for all but uids $uids (nftables)"
    else
        echo "cannot block the metadata service: neither iptables nor nftables works here" >&2
        return 1
    fi
}
