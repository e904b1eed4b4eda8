#!/bin/sh
# The web image's command: nginx, with the API's address looked up when requests need it (cached
# 10 s) instead of once at start, so `docker compose up -d` recreating the api (new address) costs
# no 502s. The resolver is the container's own from /etc/resolv.conf: Docker's 127.0.0.11 in compose,
# the cluster DNS in Kubernetes. API_UPSTREAM is host:port (Kubernetes: the Service's full name,
# since nginx's resolver does not apply search domains). Extra arguments go to nginx (e.g. -t).
set -eu
nameservers="$(awk '/^nameserver/ { printf($2 ~ /:/ ? "[%s] " : "%s ", $2) }' /etc/resolv.conf)"
[ -n "$nameservers" ] || {
  echo "start.sh: no nameserver in /etc/resolv.conf" >&2
  exit 1
}
cat >"${NGINX_RUNTIME_DIR:-/tmp}/nginx-runtime.conf" <<CONF
resolver ${nameservers}valid=10s ipv6=off;
set \$api_upstream ${API_UPSTREAM:-api:8000};
CONF
exec nginx -g 'daemon off;' "$@"
