#!/usr/bin/env bash
# install-test-deps.sh - installs the Debian packages the tests drive as real peers:
#   postfix  (smtp-source, smtp-sink, qmqp-source, postmap for comparison)
#   postfix-pcre (pcre: tables for real postmap, compared with ours)
#   swaks    (SMTP swiss-army knife client)
#   dnsmasq-base (a loopback DNS server the MX routing tests start themselves)
#   pflogsumm (Postfix's log summarizer: the logging tests parse our maillog with it)
#   dovecot-core + dovecot-lmtpd (a real LMTP server the lmtp tests start themselves)
#   redis-server (a Redis-protocol store the cluster tests start themselves on loopback)
#   curl     (the metrics tests scrape /metrics with it, as Prometheus-minded operators do)
#   openssl  (s_client -starttls smtp: the TLS tests check handshakes and protocol floors with it)
#   libnet-ssleay-perl + libio-socket-ssl-perl (swaks --tls / --tlsc need them)
# Safe to run repeatedly; installs only what is missing. Needs root (CI and dev
# machines run as root). Postfix is installed with debconf "No configuration" and
# its system service is never started or used by our tests. Dovecot's system
# service is kept from starting during the install by a policy-rc.d that answers
# 101 ("action forbidden"); the tests run their own dovecot -F with their own config.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
PATH=$PATH:/usr/sbin:/sbin
need=()
command -v smtp-source >/dev/null || need+=(postfix)
[[ -e /usr/lib/postfix/postfix-pcre.so ]] || need+=(postfix-pcre)   # pcre: for the postmap comparison tests
command -v swaks >/dev/null || need+=(swaks)
command -v dnsmasq >/dev/null || need+=(dnsmasq-base)   # loopback DNS server for MX tests (no system service)
command -v pflogsumm >/dev/null || need+=(pflogsumm)
command -v dovecot >/dev/null || need+=(dovecot-core)
[[ -x /usr/lib/dovecot/lmtp ]] || need+=(dovecot-lmtpd)
command -v redis-server >/dev/null || need+=(redis-server)   # cluster tests: shared tables and limits (no system service)
command -v curl >/dev/null || need+=(curl)
command -v openssl >/dev/null || need+=(openssl)
perl -MNet::SSLeay -e1 2>/dev/null || need+=(libnet-ssleay-perl)
perl -MIO::Socket::SSL -e1 2>/dev/null || need+=(libio-socket-ssl-perl)
if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]]; then echo "install-test-deps: need root to install: ${need[*]}" >&2; exit 1; fi
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  # Keep package scripts from starting system services (dovecot); leave an existing policy alone.
  policy=/usr/sbin/policy-rc.d
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  # Quiet on success (apt and debconf chatter), the whole transcript on failure.
  if ! out=$( { apt-get update -q && apt-get install -y -q --no-install-recommends "${need[@]}"; } 2>&1 ); then
    echo "$out" >&2; exit 1
  fi
fi
for t in smtp-source smtp-sink swaks dnsmasq pflogsumm dovecot redis-server redis-cli curl openssl; do
  command -v "$t" >/dev/null || { echo "install-test-deps: $t still missing" >&2; exit 1; }
done
[[ -x /usr/lib/dovecot/lmtp ]] || { echo "install-test-deps: dovecot lmtp still missing" >&2; exit 1; }
[[ -e /usr/lib/postfix/postfix-pcre.so ]] || { echo "install-test-deps: postfix-pcre still missing" >&2; exit 1; }
perl -MIO::Socket::SSL -MNet::SSLeay -e1 2>/dev/null || { echo "install-test-deps: perl TLS modules (swaks --tls) still missing" >&2; exit 1; }
echo "install-test-deps: ok (smtp-source, smtp-sink, postfix-pcre, swaks + TLS, dnsmasq, pflogsumm, dovecot lmtp, redis-server, curl, openssl)"
