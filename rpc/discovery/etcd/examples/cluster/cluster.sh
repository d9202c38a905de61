#!/usr/bin/env bash
# The cluster example: a local etcd-server (Debian's etcd-server package),
# three `twistd-etcd rpc-etcd` instances registered in it, and a client that
# calls add through etcd:// while one instance is killed (kill -9): no call
# fails. Then it stops the other instances (SIGTERM: each deletes its key,
# then drains) and etcd, and cleans up. Run it from anywhere:
#
#	rpc/discovery/etcd/examples/cluster/cluster.sh
#
# ETCD names the etcd binary (default: etcd on PATH). Ports are chosen at
# random among the free ones on 127.0.0.1, below the ephemeral range.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
module=$(cd "$here/../.." && pwd)
etcd_bin=${ETCD:-$(command -v etcd || true)}
if [[ -z $etcd_bin ]]; then
	echo "cluster.sh: no etcd binary (apt-get install etcd-server, or set ETCD)" >&2
	exit 2
fi

work=$(mktemp -d)
pids=()
cleanup() {
	status=$?
	if ((status != 0)); then
		for log in "$work"/etcd.log "$work"/s*/twistd.log; do
			[[ -e $log ]] && { echo "--- $log"; tail -n 20 "$log"; }
		done >&2
	fi
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# free_port prints a port on 127.0.0.1 that nothing listens on, and that no
# earlier call printed.
taken=" "
free_port() {
	local p
	while :; do
		p=$((15000 + RANDOM % 17000)) # below the ephemeral range
		[[ $taken == *" $p "* ]] && continue
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			taken+="$p "
			echo "$p"
			return
		fi
	done
}

# wait_port waits up to 20 s for something to listen on 127.0.0.1:$1.
wait_port() {
	for _ in $(seq 200); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return
		sleep 0.1
	done
	echo "cluster.sh: nothing listens on port $1" >&2
	return 1
}

echo "== building twistd-etcd and the client"
(cd "$module" && go build -o "$work/twistd-etcd" ./cmd/twistd-etcd && go build -o "$work/call" ./examples/cluster/call)

client_port=$(free_port)
peer_port=$(free_port)
echo "== etcd on 127.0.0.1:$client_port"
"$etcd_bin" --name cluster --data-dir "$work/etcd" \
	--listen-client-urls "http://127.0.0.1:$client_port" --advertise-client-urls "http://127.0.0.1:$client_port" \
	--listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
	--initial-cluster "cluster=http://127.0.0.1:$peer_port" >"$work/etcd.log" 2>&1 &
pids+=($!)
wait_port "$client_port"

instances=()
for i in 1 2 3; do
	port=$(free_port)
	mkdir "$work/s$i"
	"$work/twistd-etcd" -n --pidfile "" --logfile "$work/s$i/twistd.log" rpc-etcd \
		--interface 127.0.0.1 --port "$port" --mongo-port -1 \
		--etcd "127.0.0.1:$client_port" --service calc --advertise "127.0.0.1:$port" --ttl 2s &
	pids+=($!)
	instances+=($!)
	echo "== instance s$i on 127.0.0.1:$port (pid $!)"
done

echo "== client: calling add through etcd://127.0.0.1:$client_port/calc"
"$work/call" -target "etcd://127.0.0.1:$client_port/calc" -want 3 -until-live 2 -ready "$work/ready" &
client=$!
pids+=($client)
for _ in $(seq 200); do
	[[ -e $work/ready ]] && break
	sleep 0.1
done
echo "== kill -9 instance s2 (pid ${instances[1]})"
kill -9 "${instances[1]}"
wait "$client"
{ wait "${instances[1]}"; } 2>/dev/null || true # reaped quietly

echo "== stopping s1, s3 (SIGTERM) and etcd"
for pid in "${instances[0]}" "${instances[2]}"; do
	kill -TERM "$pid"
	wait "$pid"
done
kill -TERM "${pids[0]}"
wait "${pids[0]}" || true
echo "== done"
