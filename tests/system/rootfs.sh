#!/usr/bin/env bash
# Provision the Debian 12 base image that system tests boot with systemd-nspawn.
#
# Usage: rootfs.sh DIR    (DIR must not exist or be empty; run as root)
#
# A test container has no network, so every runtime dependency of the product's .deb and every
# tool a test calls must be installed here. tests/system/nspawn.py caches the result keyed on a
# hash of this file: any edit here builds a new image on the next test run.
set -euo pipefail

PACKAGES=(
  systemd systemd-sysv dbus   # a real PID 1, and the system bus
  libnss-systemd              # resolves DynamicUser= and systemd-sysusers names
  python3 python3-venv        # the interpreter the .deb's virtualenv runs on
  python3-systemd             # journald fields and sd_notify from test helpers
  sqlite3                     # operators inspect the databases; restore drills check integrity
  curl ca-certificates        # ExecStartPost= health checks; TLS roots for OpenRouter
  ucf                         # the .deb's maintainer scripts manage /etc config files with it
  restic                      # the backup units
  tzdata                      # OnCalendar= and zoneinfo with named time zones
  netbase                     # /etc/services and /etc/protocols, for ss and socket lookups
  iproute2 procps             # ss, ps and pgrep in tests
  gnupg                       # checking signed files and apt keys (minbase has only gpgv)
  apt-utils                   # apt installs the local .deb without debconf warnings
)
# Timers and services that do housekeeping nobody wants in a 2-second test container.
MASKED=(
  apt-daily.timer apt-daily-upgrade.timer apt-daily.service apt-daily-upgrade.service
  dpkg-db-backup.timer dpkg-db-backup.service
  e2scrub_all.timer e2scrub_all.service e2scrub_reap.service
  console-getty.service       # a login prompt on a console nobody types into
)

dir=${1:?usage: rootfs.sh DIR}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8

include=$(IFS=,; echo "${PACKAGES[*]}")
debootstrap --variant=minbase --include="$include" bookworm "$dir" "$mirror"

chroot "$dir" apt-get clean
rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin
systemctl --root="$dir" mask "${MASKED[@]}"

# An empty machine-id makes every boot generate a fresh one, so containers never share one.
: >"$dir/etc/machine-id"
rm -f "$dir/var/lib/dbus/machine-id"
# debootstrap copies the host's name; without the file the container keeps the one nspawn sets.
rm -f "$dir/etc/hostname"
# C.UTF-8 ships inside glibc, so it needs no locales package.
echo 'LANG=C.UTF-8' >"$dir/etc/locale.conf"
echo 'LANG=C.UTF-8' >"$dir/etc/default/locale"
