#!/usr/bin/env bash
# install-test-deps.sh - installs the Debian packages the tests drive as real peers:
#   postfix  (smtp-source, smtp-sink, qmqp-source, postmap for comparison)
#   swaks    (SMTP swiss-army knife client)
#   dnsmasq-base (a loopback DNS server the MX routing tests start themselves)
# Safe to run repeatedly; installs only what is missing. Needs root (CI and dev
# machines run as root). Postfix is installed with debconf "No configuration" and
# its system service is never started or used by our tests.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
PATH=$PATH:/usr/sbin:/sbin
need=()
command -v smtp-source >/dev/null || need+=(postfix)
command -v swaks >/dev/null || need+=(swaks)
command -v dnsmasq >/dev/null || need+=(dnsmasq-base)   # loopback DNS server for MX tests (no system service)
if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]]; then echo "install-test-deps: need root to install: ${need[*]}" >&2; exit 1; fi
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi
for t in smtp-source smtp-sink swaks dnsmasq; do
  command -v "$t" >/dev/null || { echo "install-test-deps: $t still missing" >&2; exit 1; }
done
echo "install-test-deps: ok (smtp-source, smtp-sink, swaks, dnsmasq)"
