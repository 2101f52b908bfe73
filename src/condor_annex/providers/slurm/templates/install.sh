#!/bin/sh
# Installs Slurm and munge where it runs (the runtime's Debian 13 root, or this machine),
# as root and idempotently. condor-annex starts and stops the daemons itself, so no init
# script may start them while the packages are installed.
set -eu
export DEBIAN_FRONTEND=noninteractive

packages="slurm-wlm munge"
missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q ' installed$' || missing="$missing $p"
done

if [ -n "$missing" ]; then
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        # Only while we install: ours goes at exit, and a machine's own stays.
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
    fi
    dpkg --configure -a
    apt-get update -qq
    # shellcheck disable=SC2086 # one word per package, on purpose
    apt-get install -y -qq --no-install-recommends $missing
fi

# Spool and log directories (the packages make some; make sure of all, owned right).
mkdir -p /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /var/log/munge /var/lib/munge
chown slurm:slurm /var/spool/slurmctld /var/log/slurm
chown munge:munge /var/log/munge /var/lib/munge

# munge's package makes a key; make one if it did not, and keep it private (munged refuses
# a key that others can read, and anyone with it can act as any user towards Slurm).
if [ ! -s /etc/munge/munge.key ]; then
    mungekey --create --keyfile=/etc/munge/munge.key
fi
chown munge:munge /etc/munge /etc/munge/munge.key
chmod 700 /etc/munge
chmod 600 /etc/munge/munge.key
