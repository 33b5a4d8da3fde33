#!/usr/bin/env bash
# Starts a 3-node RedRaft cluster on loopback for trying it out:
#   RESP 7001-7003, gRPC 5001-5003, admin HTTP 9001-9003, data in ${DATA:-./data/cluster}/n1..n3.
# Restarting the script reuses the data dirs (the nodes rejoin). Ctrl-C stops all three.
#   redis-cli -c -p 7001            # follows MOVED like any cluster client
#   redis-cli --cluster check 127.0.0.1:7001
set -euo pipefail
BIN=${BIN:?set BIN to the redraft-server binary (make cluster does)}
DATA=${DATA:-./data/cluster}
SPEC="1=127.0.0.1:5001,2=127.0.0.1:5002,3=127.0.0.1:5003"
pids=()
stop() {
  trap - INT TERM EXIT
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait || true
}
trap stop INT TERM EXIT
for i in 1 2 3; do
  mkdir -p "$DATA/n$i"
  "$BIN" --node-id "$i" --data-dir "$DATA/n$i" --port "700$i" --grpc-port "500$i" \
    --admin-port "900$i" --cluster "$SPEC" >"$DATA/n$i/stdout.log" 2>"$DATA/n$i/server.log" &
  pids+=("$!")
done
# Ready when every node says cluster_state:ok (each node's log is in $DATA/nN/server.log).
for _ in $(seq 600); do
  ok=0
  for i in 1 2 3; do
    redis-cli -p "700$i" cluster info 2>/dev/null | grep -q "cluster_state:ok" && ok=$((ok + 1))
  done
  [ "$ok" = 3 ] && break
  sleep 0.1
done
[ "$ok" = 3 ] || { echo "cluster did not become ready; see $DATA/n*/server.log" >&2; exit 1; }
echo "RedRaft cluster ready: redis-cli -c -p 7001 (nodes on 7001-7003; admin http://127.0.0.1:9001/metrics)"
redis-cli -p 7001 cluster nodes
wait
