#!/bin/bash
# condor-annex: make this machine the image of a SEED (central manager plus submit node).
#
# Usage, as root:  install-seed.sh [--extras docker,python3]
# `annex image build --role seed` runs it on a builder instance, then scrubs the builder,
# scans it for secrets and reports (image-build.sh); run by hand it only installs and
# configures.
#
# HTCondor's service is enabled: at its first boot the seed's collector makes the pool's
# signing key and CA afresh, so no two seeds made from this image share them (the scrub
# removes any made while building). Accepting annex workers (their token identities,
# TCP forwarding) is configured on the running seed, where the pool's names are known.
set -eu
umask 022
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=image-common.sh
. "$here/image-common.sh"

parse_install_args "$@"

install_base
install_extras "$IMAGE_EXTRAS"
install_firewall  # the seed's start-up hook blocks the metadata service with it

step "configuring the seed role"
# shellcheck disable=SC2016 # HTCondor's $(MACRO)s, not the shell's
write_role_config seed '# condor-annex seed image: central manager and submit node. Written by
# install-seed.sh. IDTOKENS with encryption and integrity on every connection; the
# collector makes the pool signing key at first boot.
use ROLE : CentralManager
use ROLE : Submit
use SECURITY : recommended_v9_0
SEC_DEFAULT_AUTHENTICATION = REQUIRED
SEC_DEFAULT_ENCRYPTION = REQUIRED
SEC_DEFAULT_INTEGRITY = REQUIRED
# Annex workers have no inbound ports: they register through this collector (CCB).
ENABLE_CCB_SERVER = True
CondorAnnexImageRole = "seed"
MASTER_ATTRS = $(MASTER_ATTRS) CondorAnnexImageRole'
condor_service enable
say "seed image ready: HTCondor $(htcondor_version) ($HTCONDOR_SOURCE packages)"
