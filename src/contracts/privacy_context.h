// What binds a privacy contract's zero-knowledge proofs to their transaction (docs/zk.md).
//
// A proof sits inside the transaction whose validity it argues, so the transaction id cannot be
// hashed into it. Instead the Fiat–Shamir transcript absorbs, under a domain naming the contract,
// the command and a version, every input StateRef of the transaction in order. Each input can be
// consumed only once (the notary's guarantee), so a proof copied into any other transaction, which
// necessarily consumes other states, derives other challenges and fails. Commands then absorb
// their own public fields (period and tariffs, voter and ballot) before the proofs' statements.
//
// Procedures (client side) and checkers (every verifier) call the same function, so the two sides
// cannot drift apart. Pure; thread-safe.
#pragma once

#include <span>
#include <string_view>

#include "ledger/ledger_transaction.h"
#include "zk/prng.h"
#include "zk/transcript.h"

namespace folio::contracts {

zk::Transcript bound_transcript(std::string_view contract, std::string_view command,
                                std::span<const ledger::StateRef> inputs);

// The input refs of a resolved transaction, in order.
std::vector<ledger::StateRef> input_refs(const ledger::LedgerTransaction& tx);

// A transaction salt drawn from a procedure's Prng (salts must be unpredictable so that hidden
// components of a tear-off cannot be guessed).
ledger::PrivacySalt random_salt(zk::Prng& prng);

}  // namespace folio::contracts
