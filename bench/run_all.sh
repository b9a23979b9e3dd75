#!/usr/bin/env bash
# Runs every benchmark the folio binary offers and leaves their results in bench/results/.
# Each prints JSON and writes its own file; the machine's Ed25519 rate is measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
folio=./build/folio
mkdir -p bench/results
available=$("$folio" bench --help 2>/dev/null | awk '/^Subcommands:/{s=1;next} s&&NF{print $1}')
for name in ledger consensus wasm zk sbac-sim node network; do
  if grep -qx "$name" <<<"$available"; then
    echo "== folio bench $name"
    case "$name" in
      consensus) "$folio" bench consensus --replicas 4 --seconds 10 --batch 400 --outstanding 3000 ;;
      *) "$folio" bench "$name" ;;
    esac
  fi
done
echo "results in bench/results/:"
ls -1 bench/results/
