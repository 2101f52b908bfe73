#!/bin/bash
# condor-annex seed start-up hook: run before HTCondor starts, at every boot.
# Installed by `annex seed configure` (a systemd drop-in for condor.service runs it).
#
# First it blocks the instance metadata service for every local user but root and
# condor, so no job (local and scheduler universe jobs, DAGMan among them, run here as
# their owners) can take the seed's role; if that cannot be put in place it fails, and
# HTCondor does not start. Then it sets TCP_FORWARDING_HOST to this instance's public
# IPv4 address, read through IMDSv2, so a seed that was stopped and started (new public
# address) keeps working, and names its private network after its VPC
# (PRIVATE_NETWORK_NAME, as annex workers do), so workers in the same VPC still use its
# private address. Without a metadata service (not on a cloud instance) it leaves both
# unset and says so. Usage: seed-forwarding CONFIG_FILE (the file the seed's config includes)
set -eu
config=${1:?usage: seed-forwarding CONFIG_FILE}
# The instance's own, always: the tests serve their stand-in at this very address.
imds=http://169.254.169.254

# @IMDS_BLOCK@

say() { echo "condor-annex-seed: $*"; }

if ! blocked=$(block_metadata_service condor); then
    say "ERROR: job users could reach the metadata service; not starting HTCondor" \
        "(install iptables or nftables)"
    exit 1
fi
say "$blocked"

token=$(curl -sf --connect-timeout 1 --max-time 3 -X PUT \
    -H "X-aws-ec2-metadata-token-ttl-seconds: 60" "$imds/latest/api/token" 2>/dev/null) || token=""
get() {  # a metadata path, or nothing
    [ -n "$token" ] || return 0
    curl -sf --max-time 3 -H "X-aws-ec2-metadata-token: $token" "$imds/latest/meta-data/$1" \
        2>/dev/null || true
}
address=$(get public-ipv4)
case $address in
    *[!0-9.]*) address="" ;;
esac
mac=$(get mac)
vpc=""
[ -z "$mac" ] || vpc=$(get "network/interfaces/macs/$mac/vpc-id")
case $vpc in
    vpc-*) ;;
    *) vpc="" ;;
esac
case $vpc in
    *[!A-Za-z0-9-]*) vpc="" ;;
esac

if [ -z "$token" ]; then
    rm -f "$config"
    say "no instance metadata service here; TCP_FORWARDING_HOST left unset"
elif [ -z "$address" ]; then
    rm -f "$config"
    say "this instance has no public IPv4 address; TCP_FORWARDING_HOST left unset"
else
    tmp="$config.new"
    {
        echo "# Written at boot by the condor-annex seed hook."
        echo "TCP_FORWARDING_HOST = $address"
        [ -z "$vpc" ] || echo "PRIVATE_NETWORK_NAME = $vpc"
    } >"$tmp"
    mv "$tmp" "$config"
    say "TCP_FORWARDING_HOST = $address${vpc:+, PRIVATE_NETWORK_NAME = $vpc}"
fi
