#!/bin/sh
# package_root.sh: what test_package.py runs inside a fresh Debian root
# (test/tools/inroot --fresh, which shares the host's network, pids and
# /tmp): install the .deb as an operator would, check the shipped config,
# install the release's HAProxy, then run HAProxy and hapwatch in the
# foreground as this shell's own children (no systemd here) until the test
# says "stop" on stdin or closes it.
#
#   package_root.sh DEB DIR HTTP_PORT AGENT_PORT
#
# DIR is the test's directory (under the shared /tmp): it holds
# backend.cfg (HAProxy's backends, written by the test) and gets every log.
# Each line on stdout tells the test where things stand:
#
#   step NAME                   a step begins; its output is in DIR/NAME.log
#   installed PACKAGE VERSION   a package the .deb's install brought in
#   checked RC                  hapwatch -c exited RC (DIR/check.out, .err)
#   haproxy VERSION             the release's HAProxy
#   running HAPROXY_PID HAPWATCH_PID
#   ctl RC                      answer to "ctl": hapwatch ctl status --json
#                               (DIR/ctl.out, .err)
#   exited NAME RC              after "stop": how each one ended
#   finished
#
# HAProxy and hapwatch get SIGKILL if this shell dies (setpriv --pdeathsig),
# and this shell is the test's child with the same setting: nothing
# outlives the test. Signals go only to the two pids started here.
set -eu

deb=$1
dir=$2
http=$3
agent=$4

export DEBIAN_FRONTEND=noninteractive

step() {
	echo "step $1"
	log=$dir/$1.log
}

packages() {
	dpkg-query -W -f '${db:Status-Abbrev} ${Package} ${Version}\n' |
		awk '$1 == "ii" { print $2, $3 }' | sort
}

step apt-update
apt-get update -q >"$log" 2>&1

step install-hapwatch
packages >"$dir/packages.before"
apt-get install -y -q "$deb" >"$log" 2>&1
packages >"$dir/packages.after"
comm -13 "$dir/packages.before" "$dir/packages.after" | sed 's/^/installed /'

# hapwatch -c as the unit's ExecStartPre runs it: as user hapwatch.
step check
rc=0
setpriv --reuid hapwatch --regid hapwatch --clear-groups -- \
	hapwatch -c -f /etc/hapwatch/hapwatch.json \
	>"$dir/check.out" 2>"$dir/check.err" || rc=$?
echo "checked $rc"

step install-haproxy
apt-get install -y -q haproxy >"$log" 2>&1
echo "haproxy $(haproxy -v | sed -n 's/^HAProxy version \([^ ]*\).*/\1/p')"

# Debian's haproxy.cfg, with the one change hapwatch's user needs: the
# stats socket in group haproxy (HAProxy makes it root:root otherwise),
# which the unit's SupplementaryGroups=haproxy then opens to hapwatch.
step start
sed -i 's|^\([[:space:]]*stats socket /run/haproxy/admin.sock .*\)$|\1 group haproxy|' \
	/etc/haproxy/haproxy.cfg
grep -q 'admin.sock .* group haproxy$' /etc/haproxy/haproxy.cfg
# What systemd would make: RuntimeDirectory= of each unit.
mkdir -p /run/haproxy
install -d -o hapwatch -g hapwatch -m 0750 /run/hapwatch
setpriv --pdeathsig KILL -- haproxy -db -f /etc/haproxy/haproxy.cfg \
	-f "$dir/backend.cfg" >"$dir/haproxy.log" 2>&1 &
hp=$!
# As the unit runs it: User=hapwatch, Group=hapwatch,
# SupplementaryGroups=haproxy; the shipped config, its listeners moved to
# the test's ports.
setpriv --reuid hapwatch --regid hapwatch --groups haproxy \
	--pdeathsig KILL -- hapwatch -f /etc/hapwatch/hapwatch.json \
	--http "127.0.0.1:$http" --agent "127.0.0.1:$agent" \
	--log-level info >"$dir/hapwatch.log" 2>&1 &
hw=$!
echo "running $hp $hw"

while read -r cmd; do
	case $cmd in
	ctl)
		rc=0
		hapwatch ctl status --json >"$dir/ctl.out" 2>"$dir/ctl.err" ||
			rc=$?
		echo "ctl $rc"
		;;
	stop)
		break
		;;
	esac
done

kill -TERM "$hw" 2>/dev/null || true
rc=0
wait "$hw" || rc=$?
echo "exited hapwatch $rc"
kill -TERM "$hp" 2>/dev/null || true
rc=0
wait "$hp" || rc=$?
echo "exited haproxy $rc"
echo finished
