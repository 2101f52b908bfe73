#!/bin/bash
# condor-annex image building: the part install-worker.sh and install-seed.sh share.
# Sourced, never run. Bash 4+, GNU coreutils/findutils/grep; Debian/Ubuntu (apt) or the
# RHEL family (dnf: RHEL, Rocky, Alma, CentOS Stream, Amazon Linux 2023).
#
# What it does, in the order the role scripts call it:
#   detect_os            which family, release and codename this is
#   install_base         HTCondor (the official repository, else the distribution's own
#                        `condor` package, saying so), curl, the AWS CLI (python3 with boto3
#                        as the boot script's fallback), and best effort the CloudWatch
#                        agent and cfn-signal (aws-cfn-bootstrap)
#   install_extras LIST  the extras asked for, from KNOWN_EXTRAS only
#   install_firewall     iptables, else nftables: the metadata block needs one, so an
#                        image without either is refused here
#   scrub                removes credentials, keys, tokens, history, logs, cloud-init state
#   secret_scan          prints what still looks like a secret, one "PATH: WHAT" a line
# Nothing here prints a secret: findings name the file and the kind, never the content.
#
# Settings (environment): HTCONDOR_SERIES (default 24.0), HTCONDOR_REPO (the official
# repository's base URL), IMAGE_EXTRAS (comma-separated extras).

# The extras `annex image build --extra` accepts (images.py reads this line).
KNOWN_EXTRAS="docker python3 git gcc"

HTCONDOR_REPO=${HTCONDOR_REPO:-https://research.cs.wisc.edu/htcondor/repo}
HTCONDOR_SERIES=${HTCONDOR_SERIES:-24.0}
HTCONDOR_SOURCE=""
OFFICIAL_FAILURE=""
# Where secrets would live on an image; /usr (package content), /proc, /sys and /run
# (not on the disk) are left out.
SCAN_ROOTS="/etc /root /home /var /opt /srv /usr/local /tmp"
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

say() { echo "condor-annex-image: $*"; }
die() {
    say "ERROR: $*"
    exit 1
}
step() {
    # shellcheck disable=SC2034 # read by image-build.sh when it reports a failure
    CURRENT_STEP=$1
    say "== $1"
}

parse_install_args() {  # the role scripts' command line: [--extras a,b]
    IMAGE_EXTRAS=""
    while [ $# -gt 0 ]; do
        case $1 in
            --extras)
                IMAGE_EXTRAS=${2:-}
                shift 2
                ;;
            *) die "unknown argument '$1' (usage: ${0##*/} [--extras a,b])" ;;
        esac
    done
}

# -- the system ---------------------------------------------------------------------------
detect_os() {
    [ -r /etc/os-release ] || die "no /etc/os-release: cannot tell which distribution this is"
    # Read in a subshell: os-release may define names of ours (BUILD_ID, for one).
    local like version
    {
        read -r OS_ID
        read -r like
        read -r version
        read -r OS_CODENAME
    } < <(
        # shellcheck disable=SC1091 # the distribution's own file
        . /etc/os-release
        printf '%s\n' "${ID:-unknown}" "${ID_LIKE:-}" "${VERSION_ID:-}" "${VERSION_CODENAME:-}"
    )
    OS_MAJOR=${version%%.*}
    case " $OS_ID $like " in
        *" debian "* | *" ubuntu "*) OS_FAMILY=debian ;;
        *" rhel "* | *" fedora "* | *" centos "* | *" amzn "*) OS_FAMILY=rhel ;;
        *) die "unsupported distribution '$OS_ID' (Debian/Ubuntu or the RHEL family only)" ;;
    esac
    say "distribution: $OS_ID $version ${OS_CODENAME:+($OS_CODENAME) }family $OS_FAMILY"
}

apt_get() {
    DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=600 \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"
}

pkg_refresh() {
    case $OS_FAMILY in
        debian) apt_get update ;;
        rhel) dnf -y -q makecache ;;
    esac
}

pkg_install() {
    case $OS_FAMILY in
        debian) apt_get install "$@" ;;
        rhel) dnf -y -q install "$@" ;;
    esac
}

# fetch URL DEST: download over HTTPS with bounded time.
fetch() {
    curl -fsSL --proto '=https' --connect-timeout 10 --max-time 300 --retry 2 -o "$2" "$1"
}

arch_name() {  # amd64 or arm64, as AWS's package URLs spell it
    case $(uname -m) in
        x86_64 | amd64) echo amd64 ;;
        aarch64 | arm64) echo arm64 ;;
        *) uname -m ;;
    esac
}

# -- HTCondor -------------------------------------------------------------------------------
repo_host() {
    local host=${HTCONDOR_REPO#*://}
    echo "${host%%/*}"
}

official_repo_debian() {
    local key=/etc/apt/keyrings/htcondor.asc list=/etc/apt/sources.list.d/htcondor.list
    local distro=$OS_ID
    case $distro in debian | ubuntu) ;; *) distro=debian ;; esac
    mkdir -p /etc/apt/keyrings /etc/apt/preferences.d
    if ! fetch "$HTCONDOR_REPO/keys/HTCondor-$HTCONDOR_SERIES-Key" "$key"; then
        OFFICIAL_FAILURE="its signing key cannot be downloaded from $(repo_host)"
        return 1
    fi
    echo "deb [signed-by=$key] $HTCONDOR_REPO/$distro/$HTCONDOR_SERIES $OS_CODENAME main" >"$list"
    # Its packages win over the distribution's, whatever the version numbers say.
    printf 'Package: *\nPin: origin %s\nPin-Priority: 900\n' "$(repo_host)" \
        >/etc/apt/preferences.d/htcondor
    if ! apt_get update -o Dir::Etc::sourcelist="$list" -o Dir::Etc::sourceparts=- \
        -o APT::Get::List-Cleanup=0; then
        OFFICIAL_FAILURE="its $distro/$HTCONDOR_SERIES $OS_CODENAME index cannot be fetched"
        return 1
    fi
    if ! apt-cache madison condor | grep -qF "$(repo_host)"; then
        OFFICIAL_FAILURE="it has no condor package for $distro $OS_CODENAME"
        return 1
    fi
}

drop_official_repo_debian() {
    rm -f /etc/apt/sources.list.d/htcondor.list /etc/apt/keyrings/htcondor.asc \
        /etc/apt/preferences.d/htcondor
}

official_repo_rhel() {
    local dist
    case $OS_ID in
        amzn) dist=amzn$OS_MAJOR ;;
        fedora)
            OFFICIAL_FAILURE="it has no packages for Fedora"
            return 1
            ;;
        *) dist=el$OS_MAJOR ;;
    esac
    if [ "$dist" != "amzn$OS_MAJOR" ]; then  # Enterprise Linux needs EPEL and CRB
        pkg_install epel-release ||
            pkg_install "https://dl.fedoraproject.org/pub/epel/epel-release-latest-$OS_MAJOR.noarch.rpm" ||
            say "EPEL could not be added; HTCondor may miss dependencies"
        dnf config-manager --set-enabled crb 2>/dev/null || true
    fi
    if ! pkg_install "$HTCONDOR_REPO/$HTCONDOR_SERIES/htcondor-release-current.$dist.noarch.rpm"; then
        OFFICIAL_FAILURE="its $HTCONDOR_SERIES release package for $dist cannot be installed"
        return 1
    fi
}

drop_official_repo_rhel() {
    dnf -y -q remove htcondor-release >/dev/null 2>&1 || true
}

install_htcondor() {
    step "installing HTCondor $HTCONDOR_SERIES from the official repository ($(repo_host))"
    if "official_repo_$OS_FAMILY"; then
        if pkg_install condor; then
            HTCONDOR_SOURCE=official
            return 0
        fi
        OFFICIAL_FAILURE="its condor package does not install"
    fi
    "drop_official_repo_$OS_FAMILY"
    say "NOTE: the official HTCondor repository cannot be used: $OFFICIAL_FAILURE."
    say "NOTE: falling back to the distribution's own condor package ($OS_ID)."
    pkg_refresh
    pkg_install condor ||
        die "neither the official HTCondor repository nor $OS_ID has a condor package"
    HTCONDOR_SOURCE=distribution
}

htcondor_version() {  # e.g. 24.0.3; empty when HTCondor is not installed
    # shellcheck disable=SC2016 # a literal $ in the pattern
    condor_version 2>/dev/null | sed -n '1s/^\$CondorVersion: \([^ ]*\) .*/\1/p'
}

# -- AWS tools -------------------------------------------------------------------------------
install_aws_cli() {
    step "installing the AWS CLI"
    command -v aws >/dev/null 2>&1 && return 0  # Amazon Linux 2023 comes with it
    if pkg_install awscli; then
        return 0
    fi
    say "no awscli package here; trying AWS's own installer"
    local tmp
    tmp=$(mktemp -d)
    if pkg_install unzip && fetch "https://awscli.amazonaws.com/awscli-exe-linux-$(uname -m).zip" \
        "$tmp/awscli.zip" && unzip -q "$tmp/awscli.zip" -d "$tmp" && "$tmp/aws/install"; then
        rm -rf "$tmp"
        return 0
    fi
    rm -rf "$tmp"
    say "WARNING: the AWS CLI could not be installed"
    return 1
}

install_boto3() {  # the boot script's fallback for S3 when there is no AWS CLI
    pkg_install python3-boto3 || say "WARNING: python3-boto3 could not be installed"
}

install_cloudwatch_agent() {
    step "installing the CloudWatch agent (best effort)"
    if [ "$OS_FAMILY" = rhel ] && pkg_install amazon-cloudwatch-agent; then
        return 0
    fi
    local dir kind file tmp
    case $OS_FAMILY:$OS_ID in
        debian:ubuntu) dir=ubuntu kind=deb ;;
        debian:*) dir=debian kind=deb ;;
        rhel:amzn) dir=amazon_linux kind=rpm ;;
        rhel:*) dir=redhat kind=rpm ;;
    esac
    tmp=$(mktemp -d)
    file="$tmp/amazon-cloudwatch-agent.$kind"
    if fetch "https://amazoncloudwatch-agent.s3.amazonaws.com/$dir/$(arch_name)/latest/amazon-cloudwatch-agent.$kind" "$file" &&
        pkg_install "$file"; then
        rm -rf "$tmp"
        return 0
    fi
    rm -rf "$tmp"
    say "NOTE: the CloudWatch agent is not installed (no package reachable); going on without it"
}

install_cfn_bootstrap() {
    step "installing cfn-signal (aws-cfn-bootstrap, best effort)"
    if [ "$OS_FAMILY" = rhel ] && pkg_install aws-cfn-bootstrap; then
        return 0
    fi
    local venv=/opt/aws/cfn-bootstrap
    if { [ "$OS_FAMILY" != debian ] || pkg_install python3-venv; } &&
        python3 -m venv "$venv" &&
        "$venv/bin/pip" install -q --no-cache-dir --retries 1 --timeout 20 \
            https://s3.amazonaws.com/cloudformation-examples/aws-cfn-bootstrap-py3-latest.tar.gz; then
        mkdir -p /opt/aws/bin
        local tool
        for tool in cfn-signal cfn-init cfn-hup cfn-get-metadata; do
            [ -x "$venv/bin/$tool" ] && ln -sf "$venv/bin/$tool" "/opt/aws/bin/$tool"
        done
        ln -sf /opt/aws/bin/cfn-signal /usr/local/bin/cfn-signal
        return 0
    fi
    rm -rf "$venv"
    say "NOTE: cfn-signal is not installed (aws-cfn-bootstrap not reachable); going on without it"
}

install_base() {
    detect_os
    step "installing the basic tools"
    pkg_refresh
    prepare_amazon_linux
    pkg_install ca-certificates || say "WARNING: ca-certificates could not be installed"
    # Only when missing: Amazon Linux's curl-minimal conflicts with the curl package.
    command -v curl >/dev/null 2>&1 || pkg_install curl || die "cannot install curl"
    install_htcondor
    say "HTCondor $(htcondor_version) installed from the $HTCONDOR_SOURCE packages"
    install_aws_cli || true
    install_boto3
    if ! command -v aws >/dev/null 2>&1 && ! python3 -c 'import boto3' 2>/dev/null; then
        die "neither the AWS CLI nor python3 with boto3 is installed; the boot script needs one"
    fi
    install_cloudwatch_agent
    install_cfn_bootstrap
}

# -- the metadata block ----------------------------------------------------------------------
# The boot script (workers) and the start-up hook (seeds) keep every user but root and
# condor off the instance metadata service, and refuse to start HTCondor without it.
install_firewall() {
    step "installing iptables (else nftables) for the metadata block"
    pkg_install iptables || pkg_install nftables || true
    command -v iptables >/dev/null 2>&1 || command -v nft >/dev/null 2>&1 ||
        die "neither iptables nor nftables could be installed; the metadata block needs one"
}

# -- Amazon Linux 2023 ---------------------------------------------------------------------
# Workers without a baked image boot the region's Amazon Linux 2023 and run this script at
# boot. It is in the RHEL family here (dnf; official_repo_rhel takes HTCondor's own amzn2023
# repository, with no EPEL). What differs is only this: Amazon Linux 2 is refused (too
# old for HTCondor's current series), and the iptables command (the boot script keeps
# jobs off the metadata service with it) comes in iptables-nft.
prepare_amazon_linux() {
    [ "$OS_ID" = amzn ] || return 0
    [ "$OS_MAJOR" = 2023 ] || die "Amazon Linux $OS_MAJOR is not supported; use Amazon Linux 2023"
    command -v iptables >/dev/null 2>&1 || pkg_install iptables-nft ||
        say "WARNING: iptables-nft could not be installed"
}

# -- extras ------------------------------------------------------------------------------
extra_packages() {  # extra_packages NAME: the packages of one extra on this family
    case $1:$OS_FAMILY in
        docker:debian) echo docker.io ;;
        docker:rhel) echo docker ;;
        python3:debian) echo python3 python3-pip python3-venv ;;
        python3:rhel) echo python3 python3-pip ;;
        git:*) echo git ;;
        gcc:debian) echo build-essential ;;
        gcc:rhel) echo gcc gcc-c++ make ;;
        *) return 1 ;;
    esac
}

install_extras() {  # install_extras "a,b": each must be in KNOWN_EXTRAS
    local extra packages
    for extra in ${1//,/ }; do
        case " $KNOWN_EXTRAS " in
            *" $extra "*) ;;
            *) die "unknown extra '$extra' (known: $KNOWN_EXTRAS)" ;;
        esac
        packages=$(extra_packages "$extra")
        step "installing extra $extra ($packages)"
        # shellcheck disable=SC2086 # a list of package names
        pkg_install $packages || die "extra $extra could not be installed"
        if [ "$extra" = docker ]; then
            if id condor >/dev/null 2>&1 && getent group docker >/dev/null; then
                usermod -aG docker condor  # HTCondor's docker universe runs as condor
            fi
            systemctl enable docker >/dev/null 2>&1 || true
        fi
    done
}

# -- the role ------------------------------------------------------------------------------
# write_role_config ROLE TEXT: HTCondor configuration for the role, and a note of what the
# image is (read by people and later tools; it holds nothing secret).
write_role_config() {
    mkdir -p /etc/condor/config.d /etc/condor-annex
    printf '%s\n' "$2" >"/etc/condor/config.d/50-condor-annex-$1.config"
    cat >/etc/condor-annex/image <<EOF
role=$1
htcondor_version=$(htcondor_version)
htcondor_source=$HTCONDOR_SOURCE
extras=${IMAGE_EXTRAS:-}
built=$(date -u +%Y-%m-%dT%H:%M:%SZ)
EOF
    chmod 644 /etc/condor-annex/image "/etc/condor/config.d/50-condor-annex-$1.config"
}

# condor_service enable|disable: at boot, or not (no effect where systemd is not running
# the system, e.g. in a chroot; `systemctl enable` still works offline there).
condor_service() {
    command -v systemctl >/dev/null 2>&1 || return 0
    systemctl "$1" condor >/dev/null 2>&1 || true
    if [ "$1" = disable ] && [ -d /run/systemd/system ]; then
        systemctl stop condor >/dev/null 2>&1 || true
    fi
}

# -- scrubbing -----------------------------------------------------------------------------
empty_dir() {  # empty_dir DIR...: delete what is in each directory, keep the directory
    local dir
    for dir; do
        case $dir in /?*/?* | /tmp) ;; *) continue ;; esac  # never / nor a top level
        if [ -d "$dir" ]; then
            find "$dir" -xdev -mindepth 1 -delete 2>/dev/null || true
        fi
    done
}

# Credentials people's tools keep in a home: cloud CLIs, registries, git, netrc.
HOME_SECRETS=".aws .azure .condor/tokens.d .docker/config.json .git-credentials .netrc
.config/gcloud .config/gh .config/doctl .config/hcloud .config/linode-cli .config/openstack
.config/rclone .oci .kube/config .ssh/authorized_keys"

scrub_homes() {  # scrub_homes HOME...: credentials, ssh keys, history and caches
    local home path
    for home; do
        [ -d "$home" ] || continue
        for path in $HOME_SECRETS .cache; do
            rm -rf "${home:?}/$path"
        done
        rm -f "$home/.bash_history" "$home/.python_history" "$home/.lesshst" \
            "$home/.viminfo" "$home/.wget-hsts" "$home/.sudo_as_admin_successful"
    done
}

condor_dirs() {  # HTCondor's state and secret directories, as its configuration names them
    local name value
    for name in SEC_PASSWORD_DIRECTORY SEC_TOKEN_SYSTEM_DIRECTORY SPOOL EXECUTE LOG \
        CRED_STORE_DIR; do
        value=$(condor_config_val "$name" 2>/dev/null) || continue
        echo "$value"
    done
}

scrub() {
    step "scrubbing credentials, keys, tokens, history, logs and cloud-init state"
    if [ -d /run/systemd/system ]; then
        systemctl stop condor >/dev/null 2>&1 || true
    fi
    # HTCondor: signing keys, tokens, the per-host SSL key and CA it makes, its state.
    # (A seed's collector makes a fresh signing key and CA at its first boot.)
    # shellcheck disable=SC2046 # one directory a line, none with spaces
    empty_dir /etc/condor/passwords.d /etc/condor/tokens.d /var/lib/condor/spool \
        /var/lib/condor/execute /var/log/condor $(condor_dirs)
    rm -f /etc/condor/hostkey.pem /etc/condor/hostcert.pem /etc/condor/trust_domain_ca.pem \
        /etc/condor/trust_domain_ca_privkey.pem /etc/condor/known_hosts
    scrub_homes /root /home/*
    # Host identity: every instance makes its own at first boot (cloud-init, systemd).
    rm -f /etc/ssh/ssh_host_*_key /etc/ssh/ssh_host_*_key.pub
    rm -f /etc/ssl/private/ssl-cert-snakeoil.key /etc/ssl/certs/ssl-cert-snakeoil.pem
    [ -f /etc/machine-id ] && : >/etc/machine-id
    [ -L /var/lib/dbus/machine-id ] || rm -f /var/lib/dbus/machine-id
    rm -f /var/lib/systemd/random-seed
    # cloud-init: this instance's user data, state and logs.
    if command -v cloud-init >/dev/null 2>&1; then
        cloud-init clean --logs >/dev/null 2>&1 || true
    fi
    rm -rf /var/lib/cloud/* /var/log/cloud-init*.log
    # Package caches and indexes.
    case ${OS_FAMILY:-} in
        debian) apt-get clean && rm -rf /var/lib/apt/lists/* ;;
        rhel) dnf clean all >/dev/null 2>&1 || true ;;
    esac
    # Logs: rotated ones go, the rest are emptied; the journal is vacuumed.
    if [ -d /run/systemd/system ] && command -v journalctl >/dev/null 2>&1; then
        journalctl --rotate >/dev/null 2>&1 || true
        journalctl --vacuum-time=1s >/dev/null 2>&1 || true
    fi
    if [ -d /var/log ]; then
        find /var/log -xdev -path /var/log/journal -prune -o -type f \
            \( -name '*.gz' -o -name '*.[0-9]' -o -name '*.old' \) -print0 | xargs -0r rm -f
        find /var/log -xdev -path /var/log/journal -prune -o -type f -print0 |
            xargs -0r truncate -s 0
    fi
    # Temporary files, unless a directory is its own mount (then it is not on the disk).
    local tmp
    for tmp in /tmp /var/tmp; do
        mountpoint -q "$tmp" 2>/dev/null || empty_dir "$tmp"
    done
    sync
}

# -- the secret scan -------------------------------------------------------------------------
# secret_scan: one line per finding, "PATH: WHAT"; no output means nothing was found.
secret_scan() {
    local roots=() root
    for root in $SCAN_ROOTS; do
        [ -d "$root" ] && roots+=("$root")
    done
    [ "${#roots[@]}" -gt 0 ] || return 0
    # Files that must not be on an image, whatever they hold.
    find "${roots[@]}" -xdev -type f \( -path '*/passwords.d/*' -o -path '*/tokens.d/*' \) \
        -printf '%p: HTCondor signing key or token file\n' 2>/dev/null || true
    find "${roots[@]}" -xdev -type f -path '*/.aws/credentials' \
        -printf '%p: AWS credentials file\n' 2>/dev/null || true
    find "${roots[@]}" -xdev -type f \( -path '*/.docker/config.json' -o -name .git-credentials \
        -o -name .netrc -o -path '*/.config/gcloud/*' -o -path '*/.config/gh/hosts.yml' \) \
        -printf '%p: credentials of a command-line tool\n' 2>/dev/null || true
    find "${roots[@]}" -xdev -type f -name 'ssh_host_*_key' \
        -printf '%p: SSH host private key\n' 2>/dev/null || true
    # Text that looks like a secret (binary files are skipped).
    local akid='(AKIA|ASIA)[A-Z0-9]{16}' secret='aws_secret_access_key'
    local pkey='-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----' presigned='X-Amz-Signature='
    local jwt='eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}'
    local file
    grep -rIlE -e "$akid" -e "$secret" -e "$pkey" -e "$presigned" -e "$jwt" "${roots[@]}" \
        2>/dev/null | while IFS= read -r file; do
        grep -qE -e "$pkey" "$file" && echo "$file: private key"
        grep -qE -e "$akid" "$file" && echo "$file: AWS access key id"
        grep -qiE -e "$secret" "$file" && echo "$file: AWS secret access key"
        grep -qE -e "$jwt" "$file" && echo "$file: token (JWT, e.g. an HTCondor IDTOKEN)"
        grep -qE -e "$presigned" "$file" && echo "$file: presigned AWS URL"
        true
    done
}
