/* folio.CSCoin as a WebAssembly contract: a port of the native checker (src/contracts/cscoin.cc)
 * with the same rules and reasons. It reads only its ContractView (its own states and commands),
 * not the whole transaction. The mint authority, which the native contract takes at
 * registration, comes from the contract's deployment config: the encoded PublicKey.
 * Built by folio_wasm_contract(cscoin ...); cscoin_test.cc runs the native cases through both. */
#include <folio/contract.h>

typedef struct {
  folio_bytes owner;
  uint64_t balance;
} account;

/* Only the first two accounts of each side matter to any command; the rest are decoded (so that a
 * malformed one is refused) and, for issue, summed as they pass. */
static account ins[2];
static account outs[2];
static uint64_t out_total;
static int out_overflow;

/* CsCoinAccount = owner:PublicKey balance:u64, nothing after. */
__attribute__((always_inline)) static inline int decode_account(folio_bytes data, account* out) {
  folio_reader r = folio_reader_of(data);
  out->owner = folio_read_key(&r);
  out->balance = folio_read_u64(&r);
  return folio_reader_done(&r);
}

static void fail_not_account(const char* which, uint32_t index) {
  folio_message m = {{0}, 0};
  folio_message_add(&m, which);
  folio_message_add_u64(&m, index);
  folio_message_add(&m, " is not a CSCoin account");
  folio_fail_message(&m);
}

static void fail_numbers(const char* a, uint64_t x, const char* b, uint64_t y) {
  folio_message m = {{0}, 0};
  folio_message_add(&m, a);
  folio_message_add_u64(&m, x);
  folio_message_add(&m, b);
  folio_message_add_u64(&m, y);
  folio_fail_message(&m);
}

/* PublicKey::describe(): "ed25519:3d4017c3", or the shape of a compound key. */
static uint32_t count_leaves(folio_reader* r, uint32_t depth, uint32_t* members,
                             uint32_t* threshold) {
  uint32_t kind = folio_read_uleb(r);
  if (kind == 0) {
    folio_read_fixed(r, 32);
    return 1;
  }
  if (kind == 1) {
    folio_read_fixed(r, 33);
    return 1;
  }
  if (kind != 2 || depth >= FOLIO_KEY_DEPTH_MAX) {
    r->failed = 1;
    return 0;
  }
  uint32_t t = folio_read_u32(r);
  uint32_t n = folio_read_uleb(r), leaves = 0, unused_members, unused_threshold;
  for (uint32_t i = 0; i < n && !r->failed; ++i) {
    leaves += count_leaves(r, depth + 1, &unused_members, &unused_threshold);
    folio_read_u32(r);
  }
  *members = n;
  *threshold = t;
  return leaves;
}

static void add_key(folio_message* m, folio_bytes key) {
  static const char hex[] = "0123456789abcdef";
  if (key.len == 0) return;
  if (key.ptr[0] == 0 || key.ptr[0] == 1) {
    folio_message_add(m, key.ptr[0] == 0 ? "ed25519:" : "ecdsa-p256:");
    for (uint32_t i = 1; i < 5 && i < key.len; ++i) {
      char pair[3] = {hex[key.ptr[i] >> 4], hex[key.ptr[i] & 15], 0};
      folio_message_add(m, pair);
    }
    return;
  }
  folio_reader r = folio_reader_of(key);
  uint32_t members = 0, threshold = 0;
  uint32_t leaves = count_leaves(&r, 0, &members, &threshold);
  folio_message_add(m, "compound(threshold ");
  folio_message_add_u64(m, threshold);
  folio_message_add(m, " over ");
  folio_message_add_u64(m, members);
  folio_message_add(m, " members, ");
  folio_message_add_u64(m, leaves);
  folio_message_add(m, " leaves)");
}

static int verify_transfer(const folio_command* command, uint32_t n_in, uint32_t n_out) {
  folio_reader r = folio_reader_of(command->params);
  folio_bytes flow_from = folio_read_key(&r);
  folio_bytes flow_to = folio_read_key(&r);
  uint64_t amount = folio_read_u64(&r);
  if (!folio_reader_done(&r)) folio_fail("transfer parameters do not decode");
  if (n_in != 2 || n_out != 2)
    folio_fail("transfer consumes two accounts [from, to] and creates their two new versions");
  const account* from = &ins[0];
  const account* to = &ins[1];
  if (folio_bytes_equal(from->owner, to->owner)) folio_fail("transfer from an account to itself");
  if (!folio_bytes_equal(flow_from, from->owner) || !folio_bytes_equal(flow_to, to->owner))
    folio_fail("the declared value flow does not name the consumed accounts' owners");
  if (!folio_bytes_equal(outs[0].owner, from->owner) ||
      !folio_bytes_equal(outs[1].owner, to->owner))
    folio_fail("transfer changes an account's owner");
  if (amount == 0) folio_fail("transfer of zero");
  if (amount > from->balance)
    fail_numbers("transfer of ", amount, " exceeds the balance ", from->balance);
  if (to->balance > UINT64_MAX - amount) folio_fail("the receiving balance overflows");
  if (outs[0].balance != from->balance - amount)
    fail_numbers("the sender's new balance is ", outs[0].balance, ", expected ",
                 from->balance - amount);
  if (outs[1].balance != to->balance + amount)
    fail_numbers("the receiver's new balance is ", outs[1].balance, ", expected ",
                 to->balance + amount);
  if (!folio_command_signed_by(command, from->owner)) {
    folio_message m = {{0}, 0};
    folio_message_add(&m, "transfer is not signed by the sender ");
    add_key(&m, from->owner);
    folio_fail_message(&m);
  }
  return 0;
}

FOLIO_EXPORT(folio_verify) int32_t folio_verify(void) {
  /* One pass over the ContractView, in its order: inputs, references, outputs, commands. */
  folio_reader r = folio_reader_of(folio_load_view());
  uint32_t n_in = folio_read_uleb(&r);
  account a;
  for (uint32_t i = 0; i < n_in && !r.failed; ++i) {
    uint32_t index = folio_read_u32(&r);
    folio_bytes data = folio_read_bytes(&r);
    if (!r.failed && !decode_account(data, &a)) fail_not_account("input ", index);
    if (i < 2) ins[i] = a;
  }
  uint32_t n_refs = folio_read_uleb(&r);
  for (uint32_t i = 0; i < n_refs && !r.failed; ++i) folio_read_view_state(&r);
  uint32_t n_out = folio_read_uleb(&r);
  for (uint32_t i = 0; i < n_out && !r.failed; ++i) {
    uint32_t index = folio_read_u32(&r);
    folio_bytes data = folio_read_bytes(&r);
    if (!r.failed && !decode_account(data, &a)) fail_not_account("output ", index);
    if (i < 2) outs[i] = a;
    if (out_total > UINT64_MAX - a.balance) out_overflow = 1;
    out_total += a.balance;
  }
  uint32_t n_commands = folio_read_uleb(&r);
  folio_command command;
  for (uint32_t i = 0; i < n_commands && !r.failed; ++i) {
    folio_command c = folio_read_view_command(&r);
    if (i == 0) command = c;
  }
  if (!folio_reader_done(&r)) folio_fail("contract view does not decode");

  if (n_in == 0 && n_out == 0 && n_commands == 0) return 0; /* referenced only */
  if (n_commands != 1) {
    folio_message m = {{0}, 0};
    folio_message_add(&m, "a transaction carries exactly one CSCoin command, not ");
    folio_message_add_u64(&m, n_commands);
    folio_fail_message(&m);
  }

  if (folio_bytes_is(command.name, "createAccount")) {
    if (command.params.len != 0) folio_fail("createAccount takes no parameters");
    if (n_in != 0) folio_fail("createAccount consumes no CSCoin account");
    if (n_out != 1) folio_fail("createAccount creates exactly one account");
    if (outs[0].balance != 0) {
      folio_message m = {{0}, 0};
      folio_message_add(&m, "a new account starts with balance 0, not ");
      folio_message_add_u64(&m, outs[0].balance);
      folio_fail_message(&m);
    }
    if (!folio_command_signed_by(&command, outs[0].owner))
      folio_fail("createAccount is not signed by the new account's owner");
    return 0;
  }
  if (folio_bytes_is(command.name, "issue")) {
    folio_reader r = folio_reader_of(command.params);
    uint64_t supply = folio_read_u64(&r);
    if (!folio_reader_done(&r)) folio_fail("issue parameters do not decode");
    if (n_in != 0) folio_fail("issue consumes no CSCoin account");
    if (n_out == 0) folio_fail("issue creates at least one account");
    folio_bytes mint = folio_load_config();
    folio_reader k = folio_reader_of(mint);
    folio_read_key(&k);
    if (!folio_reader_done(&k)) folio_fail("the contract's config is not a mint authority key");
    if (!folio_command_signed_by(&command, mint))
      folio_fail("issue is not signed by the mint authority");
    if (out_overflow) folio_fail("issued balances overflow");
    if (out_total != supply)
      fail_numbers("issued balances sum to ", out_total, ", not the supply ", supply);
    return 0;
  }
  if (folio_bytes_is(command.name, "transfer")) return verify_transfer(&command, n_in, n_out);
  folio_message m = {{0}, 0};
  folio_message_add(&m, "unknown command ");
  folio_message_add_bytes(&m, command.name);
  folio_fail_message(&m);
}

/* The participant of an account is its owner (the native contract's participants()). */
FOLIO_EXPORT(folio_participants) int32_t folio_participants(void) {
  folio_view view;
  folio_view_state state;
  account a;
  if (folio_view_parse(&view, folio_load_view()) != 0 ||
      !folio_next_view_state(&view.outputs, &state))
    folio_fail("no state given");
  if (!decode_account(state.data, &a)) folio_fail("state is not a CSCoin account");
  folio_participant(a.owner.ptr, a.owner.len);
  return 0;
}
