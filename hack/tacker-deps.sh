#!/usr/bin/env bash
# Installs from Debian what the lab's real VNFM needs: OpenStack Tacker 11.0.0 runs from its upstream source
# (third_party/tacker, built by hack/tacker-tree.sh) on Debian bookworm's OpenStack libraries — every package of
# Tacker's requirements.txt but heat-translator and tosca-parser, which come from source too — plus
# python3-glanceclient (heat-translator imports it), python3-jwt (Tacker 11) and RabbitMQ (the RPC between
# tacker-server and tacker-conductor; the lab runs a private one on loopback, never the system service).
# Prints nothing when everything is there; needs root to install (CI runs as root).
set -euo pipefail

python=(pbr paste pastedeploy routes amqp eventlet requests jsonschema keystonemiddleware kombu netaddr sqlalchemy
	webob alembic stevedore oslo.concurrency oslo.config oslo.context oslo.db oslo.log oslo.messaging oslo.middleware
	oslo.policy oslo.privsep oslo.reports oslo.rootwrap oslo.serialization oslo.service oslo.upgradecheck oslo.utils
	oslo.versionedobjects openstacksdk barbicanclient heatclient keystoneclient mistralclient neutronclient novaclient
	tackerclient rfc3986 cryptography paramiko pyroute2 castellan kubernetes setuptools tooz yaml pymysql glance-store
	glanceclient jwt venv pip)
want=(rabbitmq-server)
for p in "${python[@]}"; do want+=("python3-$p"); done
need=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
exec bash "$(dirname "$0")/apt-install.sh" tacker-deps "${need[@]}"
