#!/usr/bin/env bash
# Installs the references make bench runs beside Seshat, if missing:
# redis-server and etcd (Debian's redis-server and etcd-server packages).
set -euo pipefail
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v etcd >/dev/null || missing+=(etcd-server)
if [ ${#missing[@]} -gt 0 ]; then
	sudo=""
	[ "$(id -u)" -ne 0 ] && sudo=sudo
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq "${missing[@]}"
fi
