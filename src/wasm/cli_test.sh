#!/usr/bin/env bash
# Whole-binary test of `folio contract validate|run|package|sample`: what they print and their
# exit codes (0 accepted, 1 rejected), on a real contract, a hostile module and garbage.
# Usage: cli_test.sh FOLIO CSCOIN_WASM
set -u
folio=$1
cscoin=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

out=$("$folio" contract validate "$cscoin") || fail "validate cscoin.wasm exited $?: $out"
grep -q '^accepted' <<<"$out" || fail "validate did not accept cscoin.wasm: $out"
grep -q 'func folio_verify' <<<"$out" || fail "validate did not list the exports: $out"
grep -q 'instrumented' <<<"$out" || fail "validate did not print the instrumented size: $out"

printf 'not a module' >"$dir/garbage.wasm"
out=$("$folio" contract validate "$dir/garbage.wasm")
[ $? -eq 1 ] || fail "garbage was not refused with exit code 1"
grep -q '^rejected: malformed' <<<"$out" || fail "no reason for garbage: $out"

# A module whose checker uses f32.const: refused as floating point.
printf '\x00\x61\x73\x6d\x01\x00\x00\x00\x01\x05\x01\x60\x00\x01\x7f\x03\x02\x01\x00\x05\x04\x01\x01\x01\x02\x07\x19\x02\x06memory\x02\x00\x0cfolio_verify\x00\x00\x0a\x0c\x01\x0a\x00\x43\x00\x00\x00\x00\x1a\x41\x00\x0b' >"$dir/float.wasm"
out=$("$folio" contract validate "$dir/float.wasm")
[ $? -eq 1 ] || fail "a float module was not refused with exit code 1"
grep -q '^rejected: floating point: uses floating-point opcode f32.const' <<<"$out" ||
  fail "wrong reason for the float module: $out"

"$folio" contract sample --module "$cscoin" --tx-out "$dir/t.lt" --zip-out "$dir/c.zip" >/dev/null ||
  fail "contract sample failed"
out=$("$folio" contract validate "$dir/c.zip") || fail "the sample attachment was refused: $out"
grep -q 'contract     folio.CSCoin 1.0 (ABI 1)' <<<"$out" || fail "no manifest shown: $out"
out=$("$folio" contract run "$dir/c.zip" --tx "$dir/t.lt") || fail "run of the sample transfer exited $?: $out"
grep -q '^folio.CSCoin accepted (gas [0-9]*)' <<<"$out" || fail "run did not accept: $out"
first=$out
again=$("$folio" contract run "$dir/c.zip" --tx "$dir/t.lt")
[ "$first" = "$again" ] || fail "two runs differ: $first / $again"
out=$("$folio" contract run "$dir/c.zip" --tx "$dir/t.lt" --gas 100)
[ $? -eq 1 ] || fail "a run out of gas did not exit 1"
grep -q 'out of gas (gas 100)' <<<"$out" || fail "no out-of-gas verdict: $out"

"$folio" contract package --wasm "$cscoin" --name acme.Coin --version 2 -o "$dir/p.zip" >/dev/null ||
  fail "package failed"
out=$("$folio" contract validate "$dir/p.zip") || fail "the packaged attachment was refused: $out"
grep -q 'contract     acme.Coin 2 (ABI 1)' <<<"$out" || fail "package lost the manifest: $out"
echo "ok"
