#!/usr/bin/env bash
# Builds a runnable OpenStack Tacker 11.0.0 tree from third_party/tacker on Debian's OpenStack libraries
# (hack/tacker-deps.sh) and prints its directory on the last line. The tree is cached under
# ${VNFGUARD_TACKER_DIR:-$HOME/.cache/vnfguard/tacker}/<sums of the archives, this script and hack/tacker/*.py>:
# a venv with the system's site packages and Tacker, tosca-parser and heat-translator installed editable from
# source (no PyPI), the lab's noauth filter in Tacker's paste pipelines, the lab's helper scripts (hack/tacker, on
# the venv's path) and a pristine SQLite database (schema from the models, then `tacker-db-manage stamp head`). The
# lab (internal/lab/tacker.go) copies the database and writes the configuration of each run beside it; nothing here
# listens or runs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
src=$repo/third_party/tacker
(cd "$src" && sha256sum --quiet -c SHA256SUMS) || { echo "tacker-tree: third_party/tacker does not match its SHA256SUMS" >&2; exit 1; }
key=$(cat "$src/SHA256SUMS" "$0" "$here"/tacker/*.py | sha256sum | cut -c1-16)
root=${VNFGUARD_TACKER_DIR:-$HOME/.cache/vnfguard/tacker}
tree=$root/11.0.0-$key
if [ -f "$tree/.complete" ]; then
	echo "$tree"
	exit 0
fi
bash "$here/tacker-deps.sh"
rm -rf "$tree" "$tree.tmp"
t=$tree.tmp
mkdir -p "$t/src" "$t/tosca-parser" "$t/heat-translator" "$t/etc" "$t/pylib"
tar -xzf "$src/tacker-11.0.0.tar.gz" --strip-components=1 -C "$t/src"
tar -xzf "$src/tosca-parser-2.10.0.tar.gz" --strip-components=1 -C "$t/tosca-parser"
tar -xzf "$src/heat-translator-2.6.0.tar.gz" --strip-components=1 -C "$t/heat-translator"
cp "$here"/tacker/*.py "$t/pylib/"
# The venv is used from its final path: build it there (its scripts name their interpreter's absolute path).
mv "$t" "$tree"
t=$tree
/usr/bin/python3 -m venv --system-site-packages "$t/venv"
pip=("$t/venv/bin/pip" install -q --no-deps --no-build-isolation --no-index -e)
PBR_VERSION=11.0.0 "${pip[@]}" "$t/src"
PBR_VERSION=2.10.0 "${pip[@]}" "$t/tosca-parser"
PBR_VERSION=2.6.0 "${pip[@]}" "$t/heat-translator"
echo "$t/pylib" >"$(echo "$t"/venv/lib/python3*/site-packages)/vnfguard_lab.pth"
# noauth: the v1 pipelines (vnfpkgm onboards packages) get the lab's context filter; v2 is left as shipped.
"$t/venv/bin/python" - "$t/src/etc/tacker/api-paste.ini" "$t/etc/api-paste.ini" <<'PY'
import sys
text = open(sys.argv[1]).read()
for app in ('extensions tackerapiapp_v1_0', 'vnfpkgmapp_v1', 'vnflcmaapp_v1'):
    old = 'noauth = request_id catch_errors ' + app
    assert old in text, old
    text = text.replace(old, 'noauth = request_id catch_errors labcontext ' + app)
text = text.replace('[filter:request_id]', '[filter:labcontext]\npaste.filter_factory = noauth_context:NoAuthContext.factory\n\n[filter:request_id]', 1)
open(sys.argv[2], 'w').write(text)
PY
printf '[DEFAULT]\nauth_strategy = noauth\n[database]\nconnection = sqlite:///%s/tacker.sqlite\n' "$t" >"$t/etc/schema.conf"
"$t/venv/bin/python" "$t/pylib/create_schema.py" "sqlite:///$t/tacker.sqlite" >"$t/schema.log"
"$t/venv/bin/tacker-db-manage" --config-file "$t/etc/schema.conf" stamp head >>"$t/schema.log" 2>&1
touch "$t/.complete"
echo "$t"
