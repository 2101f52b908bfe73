#!/bin/bash
# condor-annex seed start-up hook: run before HTCondor starts, at every boot.
# Installed by `annex seed configure` (a systemd drop-in for condor.service runs it).
#
# Sets TCP_FORWARDING_HOST to this instance's public IPv4 address, read through IMDSv2,
# so a seed that was stopped and started (new public address) keeps working. Without a
# metadata service (not on a cloud instance) it leaves TCP_FORWARDING_HOST unset and
# says so. Usage: seed-forwarding CONFIG_FILE   (the file the seed's config includes)
# Test hook: ANNEX_IMDS_URL, the metadata service's base URL.
set -eu
config=${1:?usage: seed-forwarding CONFIG_FILE}
imds=${ANNEX_IMDS_URL:-http://169.254.169.254}

say() { echo "condor-annex-seed: $*"; }

token=$(curl -sf --connect-timeout 1 --max-time 3 -X PUT \
    -H "X-aws-ec2-metadata-token-ttl-seconds: 60" "$imds/latest/api/token" 2>/dev/null) || token=""
address=""
if [ -n "$token" ]; then
    address=$(curl -sf --max-time 3 -H "X-aws-ec2-metadata-token: $token" \
        "$imds/latest/meta-data/public-ipv4" 2>/dev/null) || address=""
fi
case $address in
    *[!0-9.]*) address="" ;;
esac

if [ -z "$token" ]; then
    rm -f "$config"
    say "no instance metadata service here; TCP_FORWARDING_HOST left unset"
elif [ -z "$address" ]; then
    rm -f "$config"
    say "this instance has no public IPv4 address; TCP_FORWARDING_HOST left unset"
else
    tmp="$config.new"
    printf '# Written at boot by the condor-annex seed hook.\nTCP_FORWARDING_HOST = %s\n' \
        "$address" >"$tmp"
    mv "$tmp" "$config"
    say "TCP_FORWARDING_HOST = $address"
fi
