#!/usr/bin/env bash
# Whole-process test of `folio doorman run|list|approve` and `folio networkmap run`: real processes
# on 127.0.0.1 (ports chosen by the kernel and read from what they print), a CSR made by the
# openssl command line tool (so the doorman interoperates with another implementation), curl as the
# HTTP client, and a clean exit on SIGTERM.
# Usage: cli_test.sh FOLIO
set -u
folio=$1
dir=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
command -v curl >/dev/null || { echo "SKIP: no curl"; exit 0; }
command -v openssl >/dev/null || { echo "SKIP: no openssl"; exit 0; }

# Starts a service in the background; sets $pid and $port once it has printed where it listens.
start() {
  local log=$1
  shift
  "$@" >"$log" 2>&1 &
  pid=$!
  pids+=("$pid")
  port=""
  for _ in $(seq 1 300); do
    port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -1)
    [ -n "$port" ] && return 0
    kill -0 "$pid" 2>/dev/null || fail "$* exited: $(cat "$log")"
    sleep 0.1
  done
  fail "$* did not report a port: $(cat "$log")"
}

start "$dir/doorman.log" "$folio" doorman run --dir "$dir/doorman" --host 127.0.0.1 --port 0
doorman_pid=$pid
doorman_port=$port
[ -f "$dir/doorman/root.pem" ] || fail "no root.pem after the first run"
[ "$(stat -c %a "$dir/doorman/doorman-ca-key.pem")" = 600 ] || fail "doorman key is not 0600"

openssl genpkey -algorithm ed25519 -out "$dir/node-ca-key.pem" 2>/dev/null || fail "openssl genpkey"
openssl req -new -key "$dir/node-ca-key.pem" -subj "/C=GB/L=London/O=Alice Ltd" \
  -out "$dir/alice.csr" 2>/dev/null || fail "openssl req"
out=$(curl -s -X POST --data-binary @"$dir/alice.csr" "http://127.0.0.1:$doorman_port/certificate")
id=$(sed -n 's/.*"request_id":"\([0-9a-f]*\)".*/\1/p' <<<"$out")
[ ${#id} -eq 32 ] || fail "no request id: $out"
grep -q '"status":"pending"' <<<"$(curl -s "http://127.0.0.1:$doorman_port/certificate/$id")" ||
  fail "request is not pending"
[ "$("$folio" doorman list --dir "$dir/doorman")" = "$id" ] || fail "doorman list does not show $id"

code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary 'garbage' \
  "http://127.0.0.1:$doorman_port/certificate")
[ "$code" = 400 ] || fail "garbage CSR answered $code"

# `doorman run` serves no HTTP admin endpoints: a local process cannot approve over loopback.
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary '' \
  "http://127.0.0.1:$doorman_port/admin/approve/$id")
[ "$code" = 404 ] || fail "admin approve over HTTP answered $code"
grep -q '"status":"pending"' <<<"$(curl -s "http://127.0.0.1:$doorman_port/certificate/$id")" ||
  fail "request is no longer pending after an HTTP admin approve"

out=$("$folio" doorman approve --dir "$dir/doorman" --request "$id") || fail "approve: $out"
grep -q 'approved' <<<"$out" || fail "approve printed: $out"
status=$(curl -s "http://127.0.0.1:$doorman_port/certificate/$id")
grep -q '"status":"approved"' <<<"$status" || fail "not approved over HTTP: $status"
# The chain as the node receives it verifies with the openssl tool against the root.
python3 -c 'import json,sys; sys.stdout.write(json.loads(sys.stdin.read())["chain"])' \
  <<<"$status" >"$dir/chain.pem" || fail "chain is not JSON"
awk -v d="$dir" '/BEGIN/{n++} {print > (d "/chain" n ".pem")}' "$dir/chain.pem"
openssl verify -x509_strict -CAfile "$dir/doorman/root.pem" -untrusted "$dir/chain2.pem" \
  "$dir/chain1.pem" >/dev/null || fail "openssl does not verify the issued chain"
"$folio" doorman approve --dir "$dir/doorman" --request 0123 >/dev/null 2>&1 &&
  fail "approving a malformed id succeeded"

# The network map certified by the doorman's root; a bad notary flag is refused before serving.
"$folio" networkmap run --dir "$dir/bad" --root-dir "$dir/doorman" --host 127.0.0.1 \
  --notary "O=Notary, L=London, C=GB;paxos;validating;00" >"$dir/bad.log" 2>&1
[ $? -eq 1 ] || fail "a bad --notary did not exit 1"
grep -q '^error:' "$dir/bad.log" || fail "no error message: $(cat "$dir/bad.log")"
key=$(openssl pkey -in "$dir/node-ca-key.pem" -pubout -outform DER | tail -c 32 | od -An -tx1 | tr -d ' \n')
start "$dir/networkmap.log" "$folio" networkmap run --dir "$dir/networkmap" --root-dir "$dir/doorman" \
  --host 127.0.0.1 --port 0 --epoch 2 --notary "O=Notary, L=London, C=GB;single;validating;00$key"
networkmap_pid=$pid
grep -q '(epoch 2, 1 notaries)' "$dir/networkmap.log" || fail "parameters: $(cat "$dir/networkmap.log")"
code=$(curl -s -o "$dir/map.bin" -w '%{http_code}' "http://127.0.0.1:$port/network-map")
[ "$code" = 200 ] && [ -s "$dir/map.bin" ] || fail "GET /network-map answered $code"
openssl verify -CAfile "$dir/doorman/root.pem" "$dir/networkmap/network-map.pem" >/dev/null ||
  fail "network map certificate is not under the root"

# SIGTERM: both stop cleanly with exit code 0.
kill -TERM "$doorman_pid" "$networkmap_pid"
wait "$doorman_pid" || fail "doorman exited $? on SIGTERM"
wait "$networkmap_pid" || fail "network map exited $? on SIGTERM"
grep -q 'doorman stopped' "$dir/doorman.log" || fail "doorman did not report stopping"

# A restarted doorman still knows the approved request.
start "$dir/doorman2.log" "$folio" doorman run --dir "$dir/doorman" --host 127.0.0.1 --port 0
grep -q '"status":"approved"' <<<"$(curl -s "http://127.0.0.1:$port/certificate/$id")" ||
  fail "request lost across a restart"
echo "PASS"
