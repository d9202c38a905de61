#!/bin/sh
# callgrind.sh counts the instructions that Twist's framed server spends per
# call of add(1, 2), 50 connections with one call in flight each: the server
# (rpcbench -serve=twist, one loop: it runs under taskset -c 0) runs under
# valgrind --tool=callgrind with instrumentation off, takes WARM calls, then
# CALLS calls with instrumentation on. Deterministic where CPU time on a
# shared machine is not. Go's preemption signals are off (GODEBUG=asyncpreemptoff=1):
# callgrind asserts on them. Run from bench/:
#
#	sh cmd/rpcbench/callgrind.sh [OUTFILE]
#	callgrind_annotate --inclusive=no OUTFILE | head -40
set -eu
calls=${CALLS:-20000}
warm=${WARM:-2000}
out=${1:-/tmp/rpcbench.callgrind}
dir=$(mktemp -d)
trap 'exec 3>&-; [ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT
go build -o "$dir/rpcbench" ./cmd/rpcbench
mkfifo "$dir/in"
GODEBUG=asyncpreemptoff=1 taskset -c 0 valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out" \
	"$dir/rpcbench" -serve=twist <"$dir/in" >"$dir/listen" 2>"$dir/valgrind.log" &
pid=$!
exec 3>"$dir/in"
until grep -q '^ready' "$dir/listen"; do
	kill -0 $pid || { cat "$dir/valgrind.log"; exit 1; }
	sleep 0.2
done
addr=$(awk '$1 == "listen" && $2 == "framed" { print $3 }' "$dir/listen")
taskset -c 1 "$dir/rpcbench" -load "$addr" -calls "$warm" >/dev/null
callgrind_control -i on $pid >/dev/null
taskset -c 1 "$dir/rpcbench" -load "$addr" -calls "$calls"
callgrind_control -i off $pid >/dev/null
exec 3>&-
wait $pid
ir=$(callgrind_annotate "$out" | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
echo "server: $ir instructions for $calls calls, $((ir / calls)) per call ($out)"
