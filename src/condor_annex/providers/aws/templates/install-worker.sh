#!/bin/bash
# condor-annex: make this machine the image of an annex WORKER (an HTCondor execute node).
#
# Usage, as root:  install-worker.sh [--extras docker,python3]
# `annex image build --role worker` runs it on a builder instance, then scrubs the
# builder, scans it for secrets and reports (image-build.sh); run by hand (or by
# bench/worker_install_debian13.py in a fresh Debian root) it only installs and configures.
#
# The worker's pool, token, lease and idle policy are not known here: each annex's boot
# script (worker-boot.sh, the instance's user data) writes them at boot and starts
# condor_master itself. So HTCondor's own service stays disabled, and this image holds
# only what every worker needs: HTCondor, curl and iptables or nftables (the boot script
# uses them and refuses to start HTCondor without the metadata block),
# the AWS CLI or python3-boto3 (for S3), and a locked-down execute-node configuration.
set -eu
umask 022
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=image-common.sh
. "$here/image-common.sh"

parse_install_args "$@"

install_base
install_extras "$IMAGE_EXTRAS"
install_firewall

step "configuring the worker role"
# shellcheck disable=SC2016 # HTCondor's $(MACRO)s, not the shell's
write_role_config worker '# condor-annex worker image: an execute node. Written by install-worker.sh.
# An annex worker does not read this file: its boot script writes worker.config (the
# pool, token, lease and idle policy) and starts condor_master with that alone. This is
# what the image is when HTCondor is started any other way: an execute node that joins
# nothing until it is given a pool, and talks only with IDTOKENS, encrypted.
use ROLE : Execute
use SECURITY : recommended_v9_0
SEC_DEFAULT_AUTHENTICATION = REQUIRED
SEC_DEFAULT_ENCRYPTION = REQUIRED
SEC_DEFAULT_INTEGRITY = REQUIRED
SEC_CLIENT_AUTHENTICATION_METHODS = IDTOKENS
# No inbound ports: the worker reaches the pool outbound, through the collector (CCB).
CCB_ADDRESS = $(COLLECTOR_HOST)
RUNBENCHMARKS = False
CondorAnnexImageRole = "worker"
STARTD_ATTRS = $(STARTD_ATTRS) CondorAnnexImageRole
MASTER_ATTRS = $(MASTER_ATTRS) CondorAnnexImageRole'
condor_service disable
say "worker image ready: HTCondor $(htcondor_version) ($HTCONDOR_SOURCE packages)"
