#!/bin/sh
# Point nginx at the container network's DNS server (re-asked every 5 s), then run it.
set -eu
nameserver=$(awk '/^nameserver/ { print $2; exit }' /etc/resolv.conf)
echo "resolver $nameserver valid=5s ipv6=off;" > /etc/nginx/conf.d/00-resolver.conf
exec nginx -g 'daemon off;'
