#!/bin/sh
# callgrind.sh counts the instructions twistd spends per round trip of three
# fixed workloads, with the instrumentation on (the commit checked out) and
# off (the same commit with the counting made no-ops by the edits below),
# and prints the difference: the instrumentation's cost, deterministically,
# where CPU time on a shared machine is not.
#
# Workloads (overheadload, one connection, one round trip at a time): 64
# bytes through `twistd echo`; add(1, 2) over Twist's framed RPC and over
# the MongoDB wire protocol (an OP_MSG {add: [1, 2], $db}) to `twistd rpc`.
# The server runs under valgrind --tool=callgrind (taskset -c 0), counting
# only inside its loop (--toggle-collect on reactor.(*Reactor).loop: what
# the loop's goroutine runs, the runtime's work on its behalf included, but
# not the runtime's other threads, whose work follows the wall clock, which
# valgrind stretches): the counts are zeroed (callgrind_control -z) after
# WARM round trips and dumped (-d) after N more, and divided by N. Go's
# preemption signals are off (GODEBUG=asyncpreemptoff=1), and so is its
# garbage collector (GOGC=off), whose cycles would land in one run or the
# other by chance. Run from
# anywhere in the repository:
#
#	sh metrics/internal/overheadload/callgrind.sh
#	N=50000 WARM=5000 sh metrics/internal/overheadload/callgrind.sh
#
# "Off" removes: the loop's counters (turns, events, posted calls, timers
# run, lag; the timing of one wait in 16) in reactor/, the listener's and
# client connections' byte counts per read and write in internet/stats.go,
# and the RPC functions' call count and sampled timing in rpc/stats.go.
# What is counted once per connection (accept, close) is left, as it is not
# per round trip.
set -eu
n=${N:-20000}
warm=${WARM:-2000}
port=${PORT:-47000}
root=$(git rev-parse --show-toplevel)
dir=$(mktemp -d)
[ -z "${KEEP:-}" ] || echo "callgrind.sh: keeping $dir" >&2
trap '[ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT
for v in on off; do
	mkdir "$dir/$v"
	git -C "$root" archive HEAD | tar -x -C "$dir/$v"
done
python3 - "$dir/off" <<'PY'
import re, sys
root = sys.argv[1]
def edit(path, pairs):
    p = root + "/" + path
    s = open(p).read()
    for old, new in pairs:
        n = len(re.findall(old, s, flags=re.S))
        if n == 0:
            sys.exit("callgrind.sh: %s: no match for %r" % (path, old))
        s = re.sub(old, new, s, flags=re.S)
    open(p, "w").write(s)
edit("reactor/reactor.go", [(r"\n\t\tr\.stats\.iterations\+\+", "")])
edit("reactor/fd.go", [(r"\n\t*r\.stats\.events\+\+", "")])
edit("reactor/posted.go", [(r"\n\t*r\.stats\.posted\+\+", "")])
edit("reactor/timer.go", [(r"\n\t*r\.stats\.timersRun\+\+\n\t*r\.stats\.lag\.Observe\([^\n]*", "")])
edit("reactor/stats.go", [(r"(func \(r \*Reactor\) wait\(timeout time\.Duration\) \(int, error\) \{).*?\n\}",
                           r"\1\n\treturn r.p.wait(timeout)\n}")])
edit("internet/stats.go", [(r"(func \(c \*Conn\) count(In|Out)\(n int\) \{).*?\n\}", r"\1}")])
edit("rpc/stats.go", [(r"(func \(st \*callStats\) begin\(s \*Server\) callStart \{).*?\n\}", r"\1\n\treturn callStart{}\n}"),
                      (r"(func \(st \*callStats\) finish\(s \*Server, t callStart, err error\) \{).*?\n\}", r"\1}")])
PY
for v in on off; do
	(cd "$dir/$v" && go build -o "$dir/twistd-$v" ./cmd/twistd)
done
(cd "$root" && go build -o "$dir/load" ./metrics/internal/overheadload)

# measure VARIANT MODE PORT PLUGIN ARGS...: prints instructions per round trip.
measure() {
	v=$1 mode=$2 p=$3
	shift 3
	out="$dir/$v.$mode.callgrind"
	GOGC=off GODEBUG=asyncpreemptoff=1 taskset -c 0 valgrind --tool=callgrind --collect-atstart=no \
		'--toggle-collect=*reactor.(*Reactor).loop' --callgrind-out-file="$out" \
		"$dir/twistd-$v" -n --pidfile "" -l "$dir/$v.$mode.log" "$@" 2>"$dir/$v.$mode.valgrind" &
	pid=$!
	until "$dir/load" -mode "$mode" -addr "127.0.0.1:$p" -n 1 2>/dev/null; do
		kill -0 $pid || { cat "$dir/$v.$mode.valgrind" >&2; exit 1; }
		sleep 0.5
	done
	taskset -c 1 "$dir/load" -mode "$mode" -addr "127.0.0.1:$p" -n "$warm"
	callgrind_control -z $pid >/dev/null 2>&1
	taskset -c 1 "$dir/load" -mode "$mode" -addr "127.0.0.1:$p" -n "$n"
	callgrind_control -d $pid >/dev/null 2>&1
	kill -INT $pid
	wait $pid || true
	ir=$(callgrind_annotate "$out.1" | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
	echo $((ir / n))
}

printf "%-10s %10s %10s %8s %7s\n" workload on off "on-off" "%"
for w in "echo $port echo --listen tcp:$port:interface=127.0.0.1" \
	"framed $((port + 1)) rpc --interface 127.0.0.1 --port $((port + 1)) --mongo-port -1" \
	"mongo $((port + 2)) rpc --interface 127.0.0.1 --port $((port + 3)) --mongo-port $((port + 2))"; do
	set -- $w
	mode=$1 p=$2
	shift 2
	on=$(measure on "$mode" "$p" "$@")
	off=$(measure off "$mode" "$p" "$@")
	printf "%-10s %10d %10d %8d %6s%%\n" "$mode" "$on" "$off" $((on - off)) \
		"$(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.2f", (a - b) * 100 / b }')"
done
