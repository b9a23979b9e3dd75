/* Folio WebAssembly contract ABI, version 1, and a small C SDK to use it.
 *
 * A contract is a C or C++ translation unit compiled with `clang --target=wasm32 -nostdlib`
 * (CMake: folio_wasm_contract() in src/wasm/folio_wasm_contract.cmake). It exports
 *   int32_t folio_verify(void)   0 accepts; anything else, or a call to folio_reject(), rejects
 *   memory "memory"              with a declared maximum (-Wl,--max-memory=N, at most 16 MiB)
 * and optionally
 *   int32_t folio_participants(void)  for the state given as the only output of the ContractView,
 *                                     reports the keys that must agree to its notary change
 *                                     through folio_participant(), and returns 0
 * and may import only the host functions declared below, from module "folio". It has no clock, no
 * randomness, no I/O and no floating point; the verifier refuses any module that tries. Every
 * basic block, call, memory growth and host call costs gas; a verification that exhausts its budget
 * fails deterministically. docs/wasm.md gives the full rules and the gas table.
 *
 * What the contract reads: the canonical encoding (src/codec, BCS-style) of the LedgerTransaction
 * being verified, and the name of the contract it is verifying (one module can serve several).
 * The encoding, field by field (uleb = ULEB128, fixed-width integers little-endian):
 *   LedgerTransaction = id[32] inputs:vec<StateAndRef> references:vec<StateAndRef>
 *                       outputs:vec<TransactionState> commands:vec<Command>
 *                       attachments:vec<Attachment> notary:opt<Party>
 *                       time_window:opt<TimeWindow> network_parameters_hash:opt<[32]>
 *   vec<T>            = uleb count, then count T      opt<T> = u8 0 | u8 1 then T
 *   bytes, string     = uleb length, then the bytes
 *   StateAndRef       = TransactionState StateRef
 *   StateRef          = tx_id[32] index:u32
 *   TransactionState  = data:bytes contract:string notary:Party encumbrance:opt<u32>
 *                       constraint:(uleb 0 | uleb 1 attachment[32] | uleb 2 PublicKey)
 *   Party             = name:string key:PublicKey
 *   PublicKey         = uleb 0 ed25519[32] | uleb 1 p256[33]
 *                     | uleb 2 threshold:u32 vec<(PublicKey weight:u32)>
 *   Command           = contract:string name:string params:bytes signers:vec<PublicKey>
 *   Attachment        = id[32] contracts:vec<string> signers:vec<PublicKey>
 *   TimeWindow        = from:opt<i64> until:opt<i64>          (microseconds since the epoch)
 * A state's `data` and a command's `params` are the contract's own canonical encodings. Keys are
 * compared by their encodings, which are canonical, so equal keys have equal bytes.
 *
 * Most checkers need only their own states and commands. The host also offers that part alone,
 * the ContractView, which is far cheaper to walk in the interpreter:
 *   ContractView = inputs:vec<ViewState> references:vec<ViewState> outputs:vec<ViewState>
 *                  commands:vec<ViewCommand>                 (those of the verified contract)
 *   ViewState    = index:u32 data:bytes        (index: position in the transaction's list)
 *   ViewCommand  = index:u32 name:string params:bytes signers:vec<PublicKey>
 *
 * The SDK below is header-only, freestanding C (no libc, no allocation): a bounded reader that
 * fails closed, a one-pass structural check of the whole transaction, and iterators over its
 * lists. A contract built with it also needs memcpy/memset/memcmp, which folio_wasm_contract()
 * links from src/wasm/sdk/runtime.c. Thread-safety does not arise: a contract runs single-threaded
 * in a fresh instance for every verification.
 */
#ifndef FOLIO_CONTRACT_H_
#define FOLIO_CONTRACT_H_

#include <stddef.h>
#include <stdint.h>

#define FOLIO_CONTRACT_ABI_VERSION 1

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Host functions (module "folio"), ABI version 1 ------------------------------------------ */
#if defined(__wasm__)
#define FOLIO_IMPORT(name) __attribute__((import_module("folio"), import_name(#name)))
#define FOLIO_EXPORT(name) __attribute__((export_name(#name)))
#else
#define FOLIO_IMPORT(name)
#define FOLIO_EXPORT(name)
#endif

/* Byte length of the canonical LedgerTransaction. Costs 50 gas. */
FOLIO_IMPORT(tx_size) int32_t folio_tx_size(void);
/* Copies tx[offset, offset + len) to guest memory at dst. Traps if either range is out of bounds.
 * Costs 50 gas plus 1 per 8 bytes. */
FOLIO_IMPORT(tx_read) void folio_tx_read(void* dst, uint32_t offset, uint32_t len);
/* Copies up to cap bytes of the verified contract's name to dst; returns the name's full length. */
FOLIO_IMPORT(contract_name) int32_t folio_contract_name(void* dst, uint32_t cap);
/* Rejects the transaction with a reason (at most 1,024 bytes, printable ASCII kept). Never
 * returns: the host ends the run. */
FOLIO_IMPORT(reject) void folio_reject(const void* reason, uint32_t len);

/* Byte length of the contract's deployment parameters (the manifest's "config", e.g. CSCoin's
 * mint authority). Costs 50 gas. */
FOLIO_IMPORT(config_size) int32_t folio_config_size(void);
/* Copies config[offset, offset + len) to dst; traps when out of bounds. 50 gas + 1 per 8 bytes. */
FOLIO_IMPORT(config_read) void folio_config_read(void* dst, uint32_t offset, uint32_t len);

/* Byte length of the ContractView of the verified contract. Costs 50 gas. */
FOLIO_IMPORT(view_size) int32_t folio_view_size(void);
/* Copies view[offset, offset + len) to dst; traps when out of bounds. 50 gas + 1 per 8 bytes. */
FOLIO_IMPORT(view_read) void folio_view_read(void* dst, uint32_t offset, uint32_t len);

/* Reports one participant of the state being asked about, as an encoded PublicKey (at most 64
 * keys of 4 KiB). Only meaningful inside folio_participants. 50 gas + 1 per 8 bytes. */
FOLIO_IMPORT(participant) void folio_participant(const void* key, uint32_t len);

/* ---- SDK: byte views and a bounded reader ------------------------------------------------------
 */
typedef struct {
  const uint8_t* ptr;
  uint32_t len;
} folio_bytes;

typedef struct {
  const uint8_t* cur;
  const uint8_t* end;
  int failed; /* sticky: once set, every read returns zero */
} folio_reader;

#define FOLIO_KEY_DEPTH_MAX 16

static inline folio_reader folio_reader_of(folio_bytes b) {
  folio_reader r = {b.ptr, b.ptr + b.len, 0};
  return r;
}
static inline int folio_reader_done(const folio_reader* r) {
  return !r->failed && r->cur == r->end;
}

static inline int folio_take(folio_reader* r, uint32_t n, const uint8_t** out) {
  if (r->failed || (uint32_t)(r->end - r->cur) < n) {
    r->failed = 1;
    *out = 0;
    return 0;
  }
  *out = r->cur;
  r->cur += n;
  return 1;
}
static inline uint8_t folio_read_u8(folio_reader* r) {
  const uint8_t* p;
  return folio_take(r, 1, &p) ? p[0] : 0;
}
static inline uint32_t folio_read_u32(folio_reader* r) {
  const uint8_t* p;
  if (!folio_take(r, 4, &p)) return 0;
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t folio_read_u64(folio_reader* r) {
  const uint8_t* p;
  uint64_t v = 0;
  if (!folio_take(r, 8, &p)) return 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
/* ULEB128 that fits 32 bits, minimal form only (as the canonical codec requires). Lengths and
 * variant indexes are almost always one byte, which takes the loop-free path. */
static inline uint32_t folio_read_uleb(folio_reader* r) {
  if (!r->failed && r->cur < r->end && *r->cur < 0x80) return *r->cur++;
  uint64_t v = 0;
  for (int shift = 0; shift < 35; shift += 7) {
    uint8_t b = folio_read_u8(r);
    if (r->failed) return 0;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      if ((b == 0 && shift != 0) || v > 0xffffffffu) break;
      return (uint32_t)v;
    }
  }
  r->failed = 1;
  return 0;
}
static inline folio_bytes folio_read_fixed(folio_reader* r, uint32_t n) {
  folio_bytes b = {0, 0};
  if (folio_take(r, n, &b.ptr)) b.len = n;
  return b;
}
static inline folio_bytes folio_read_bytes(folio_reader* r) {
  uint32_t n = folio_read_uleb(r);
  return folio_read_fixed(r, n);
}
static inline int folio_read_bool(folio_reader* r) {
  uint8_t b = folio_read_u8(r);
  if (b > 1) r->failed = 1;
  return b == 1;
}

static inline uint64_t folio_load_u64_(const uint8_t* p) {
  uint64_t v;
  __builtin_memcpy(&v, p, 8);
  return v;
}

/* Eight bytes at a time, and without a loop for the 32- and 33-byte values that hashes and leaf
 * keys are: keys are compared often, and every interpreted instruction (and loop) costs gas. */
static inline int folio_bytes_equal(folio_bytes a, folio_bytes b) {
  if (a.len != b.len) return 0;
  if (a.len == 32 || a.len == 33) {
    const uint8_t* x = a.ptr;
    const uint8_t* y = b.ptr;
    uint64_t diff = (folio_load_u64_(x) ^ folio_load_u64_(y)) |
                    (folio_load_u64_(x + 8) ^ folio_load_u64_(y + 8)) |
                    (folio_load_u64_(x + 16) ^ folio_load_u64_(y + 16)) |
                    (folio_load_u64_(x + 24) ^ folio_load_u64_(y + 24));
    if (a.len == 33) diff |= (uint64_t)(x[32] ^ y[32]);
    return diff == 0;
  }
  uint32_t i = 0;
  for (; i + 8 <= a.len; i += 8) {
    uint64_t x, y;
    __builtin_memcpy(&x, a.ptr + i, 8);
    __builtin_memcpy(&y, b.ptr + i, 8);
    if (x != y) return 0;
  }
  for (; i < a.len; ++i)
    if (a.ptr[i] != b.ptr[i]) return 0;
  return 1;
}
/* Whether b holds exactly the NUL-terminated text s. */
static inline int folio_bytes_is(folio_bytes b, const char* s) {
  uint32_t i = 0;
  for (; s[i] != 0; ++i)
    if (i >= b.len || b.ptr[i] != (uint8_t)s[i]) return 0;
  return i == b.len;
}

/* Skips one PublicKey and returns the span of its encoding. */
static inline folio_bytes folio_read_key_at_depth(folio_reader* r, uint32_t depth) {
  const uint8_t* start = r->cur;
  folio_bytes out = {0, 0};
  uint32_t kind = folio_read_uleb(r);
  if (kind == 0) {
    folio_read_fixed(r, 32);
  } else if (kind == 1) {
    folio_read_fixed(r, 33);
  } else if (kind == 2 && depth < FOLIO_KEY_DEPTH_MAX) {
    folio_read_u32(r);
    uint32_t n = folio_read_uleb(r);
    for (uint32_t i = 0; i < n && !r->failed; ++i) {
      folio_read_key_at_depth(r, depth + 1);
      folio_read_u32(r);
    }
  } else {
    r->failed = 1;
  }
  if (!r->failed) {
    out.ptr = start;
    out.len = (uint32_t)(r->cur - start);
  }
  return out;
}
/* Leaf keys (the common case) without a call or a loop; compound keys through the general path. */
static inline folio_bytes folio_read_key(folio_reader* r) {
  folio_bytes out = {0, 0};
  if (!r->failed && r->end - r->cur >= 33 && r->cur[0] == 0) {
    out.ptr = r->cur;
    out.len = 33;
    r->cur += 33;
    return out;
  }
  return folio_read_key_at_depth(r, 0);
}

/* ---- SDK: the transaction's parts -------------------------------------------------------------
 */
typedef struct {
  folio_bytes name;
  folio_bytes key; /* encoded PublicKey */
} folio_party;

typedef struct {
  folio_bytes data;
  folio_bytes contract;
  folio_party notary;
  int has_encumbrance;
  uint32_t encumbrance;
  uint32_t constraint_kind; /* 0 always-accept, 1 attachment hash, 2 signature */
  folio_bytes constraint;   /* the hash (32 bytes) or the encoded key */
} folio_state;

typedef struct {
  folio_state state;
  folio_bytes tx_id;
  uint32_t index;
} folio_input;

typedef struct {
  folio_bytes contract;
  folio_bytes name;
  folio_bytes params;
  uint32_t signer_count;
  folio_bytes signers; /* the encoded keys, back to back */
} folio_command;

typedef struct {
  folio_bytes id;
  folio_bytes contracts; /* the encoded strings, back to back */
  uint32_t contract_count;
  folio_bytes signers;
  uint32_t signer_count;
} folio_attachment;

/* A position in one of the transaction's lists, already checked by folio_tx_parse. */
typedef struct {
  folio_reader r;
  uint32_t remaining;
} folio_list;

typedef struct {
  folio_bytes id;
  folio_list inputs, references, outputs, commands, attachments;
  uint32_t input_count, reference_count, output_count, command_count, attachment_count;
  int has_notary;
  folio_party notary;
  int has_time_window, has_from, has_until;
  int64_t from, until;
  int has_network_parameters;
  folio_bytes network_parameters_hash;
} folio_tx;

static inline folio_party folio_read_party(folio_reader* r) {
  folio_party p;
  p.name = folio_read_bytes(r);
  p.key = folio_read_key(r);
  return p;
}

static inline folio_state folio_read_state(folio_reader* r) {
  folio_state s;
  s.data = folio_read_bytes(r);
  s.contract = folio_read_bytes(r);
  s.notary = folio_read_party(r);
  s.has_encumbrance = folio_read_bool(r);
  s.encumbrance = s.has_encumbrance ? folio_read_u32(r) : 0;
  s.constraint_kind = folio_read_uleb(r);
  s.constraint.ptr = 0;
  s.constraint.len = 0;
  if (s.constraint_kind == 1)
    s.constraint = folio_read_fixed(r, 32);
  else if (s.constraint_kind == 2)
    s.constraint = folio_read_key(r);
  else if (s.constraint_kind != 0)
    r->failed = 1;
  return s;
}

static inline folio_input folio_read_input(folio_reader* r) {
  folio_input in;
  in.state = folio_read_state(r);
  in.tx_id = folio_read_fixed(r, 32);
  in.index = folio_read_u32(r);
  return in;
}

static inline folio_command folio_read_command(folio_reader* r) {
  folio_command c;
  c.contract = folio_read_bytes(r);
  c.name = folio_read_bytes(r);
  c.params = folio_read_bytes(r);
  c.signer_count = folio_read_uleb(r);
  c.signers.ptr = r->cur;
  for (uint32_t i = 0; i < c.signer_count && !r->failed; ++i) folio_read_key(r);
  c.signers.len = r->failed ? 0 : (uint32_t)(r->cur - c.signers.ptr);
  return c;
}

static inline folio_attachment folio_read_attachment(folio_reader* r) {
  folio_attachment a;
  a.id = folio_read_fixed(r, 32);
  a.contract_count = folio_read_uleb(r);
  a.contracts.ptr = r->cur;
  for (uint32_t i = 0; i < a.contract_count && !r->failed; ++i) folio_read_bytes(r);
  a.contracts.len = r->failed ? 0 : (uint32_t)(r->cur - a.contracts.ptr);
  a.signer_count = folio_read_uleb(r);
  a.signers.ptr = r->cur;
  for (uint32_t i = 0; i < a.signer_count && !r->failed; ++i) folio_read_key(r);
  a.signers.len = r->failed ? 0 : (uint32_t)(r->cur - a.signers.ptr);
  return a;
}

/* Reads the count of a list and skips its elements with `read`, recording where it starts. */
#define FOLIO_SKIP_LIST_(rd, list, count, read)                                \
  do {                                                                         \
    (count) = folio_read_uleb(rd);                                             \
    (list).r = *(rd);                                                          \
    (list).remaining = (count);                                                \
    for (uint32_t i_ = 0; i_ < (count) && !(rd)->failed; ++i_) (void)read(rd); \
  } while (0)

/* Checks the whole encoding once and fills `tx`; 0 on success, -1 if the bytes do not decode.
 * The iterators below may then be used without further checks. */
static inline int folio_tx_parse(folio_tx* tx, folio_bytes bytes) {
  folio_reader r = folio_reader_of(bytes);
  tx->id = folio_read_fixed(&r, 32);
  FOLIO_SKIP_LIST_(&r, tx->inputs, tx->input_count, folio_read_input);
  FOLIO_SKIP_LIST_(&r, tx->references, tx->reference_count, folio_read_input);
  FOLIO_SKIP_LIST_(&r, tx->outputs, tx->output_count, folio_read_state);
  FOLIO_SKIP_LIST_(&r, tx->commands, tx->command_count, folio_read_command);
  FOLIO_SKIP_LIST_(&r, tx->attachments, tx->attachment_count, folio_read_attachment);
  tx->has_notary = folio_read_bool(&r);
  if (tx->has_notary) tx->notary = folio_read_party(&r);
  tx->has_time_window = folio_read_bool(&r);
  tx->has_from = tx->has_until = 0;
  tx->from = tx->until = 0;
  if (tx->has_time_window) {
    tx->has_from = folio_read_bool(&r);
    if (tx->has_from) tx->from = (int64_t)folio_read_u64(&r);
    tx->has_until = folio_read_bool(&r);
    if (tx->has_until) tx->until = (int64_t)folio_read_u64(&r);
  }
  tx->has_network_parameters = folio_read_bool(&r);
  if (tx->has_network_parameters) tx->network_parameters_hash = folio_read_fixed(&r, 32);
  return folio_reader_done(&r) ? 0 : -1;
}

/* Iterators: each returns 1 and fills *out while elements remain, then 0. */
static inline int folio_next_input(folio_list* l, folio_input* out) {
  if (l->remaining == 0) return 0;
  --l->remaining;
  *out = folio_read_input(&l->r);
  return 1;
}
static inline int folio_next_output(folio_list* l, folio_state* out) {
  if (l->remaining == 0) return 0;
  --l->remaining;
  *out = folio_read_state(&l->r);
  return 1;
}
static inline int folio_next_command(folio_list* l, folio_command* out) {
  if (l->remaining == 0) return 0;
  --l->remaining;
  *out = folio_read_command(&l->r);
  return 1;
}
static inline int folio_next_attachment(folio_list* l, folio_attachment* out) {
  if (l->remaining == 0) return 0;
  --l->remaining;
  *out = folio_read_attachment(&l->r);
  return 1;
}

/* Whether `key` (an encoded PublicKey) is among the command's signers. */
static inline int folio_command_signed_by(const folio_command* c, folio_bytes key) {
  folio_reader r = folio_reader_of(c->signers);
  for (uint32_t i = 0; i < c->signer_count; ++i) {
    folio_bytes signer = folio_read_key(&r);
    if (r.failed) return 0;
    if (folio_bytes_equal(signer, key)) return 1;
  }
  return 0;
}

/* ---- SDK: the ContractView ------------------------------------------------------------------ */
typedef struct {
  uint32_t index; /* position in the transaction's list */
  folio_bytes data;
} folio_view_state;

typedef struct {
  folio_list inputs, references, outputs, commands;
  uint32_t input_count, reference_count, output_count, command_count;
} folio_view;

static inline folio_view_state folio_read_view_state(folio_reader* r) {
  folio_view_state s;
  s.index = folio_read_u32(r);
  s.data = folio_read_bytes(r);
  return s;
}

/* A view command fills folio_command with an empty `contract` (it is the verified one). */
static inline folio_command folio_read_view_command(folio_reader* r) {
  folio_command c;
  folio_read_u32(r);
  c.contract.ptr = 0;
  c.contract.len = 0;
  c.name = folio_read_bytes(r);
  c.params = folio_read_bytes(r);
  c.signer_count = folio_read_uleb(r);
  c.signers.ptr = r->cur;
  for (uint32_t i = 0; i < c.signer_count && !r->failed; ++i) folio_read_key(r);
  c.signers.len = r->failed ? 0 : (uint32_t)(r->cur - c.signers.ptr);
  return c;
}

/* Checks the whole view once and fills `view`; 0 on success, -1 if it does not decode. */
static inline int folio_view_parse(folio_view* view, folio_bytes bytes) {
  folio_reader r = folio_reader_of(bytes);
  FOLIO_SKIP_LIST_(&r, view->inputs, view->input_count, folio_read_view_state);
  FOLIO_SKIP_LIST_(&r, view->references, view->reference_count, folio_read_view_state);
  FOLIO_SKIP_LIST_(&r, view->outputs, view->output_count, folio_read_view_state);
  FOLIO_SKIP_LIST_(&r, view->commands, view->command_count, folio_read_view_command);
  return folio_reader_done(&r) ? 0 : -1;
}

static inline int folio_next_view_state(folio_list* l, folio_view_state* out) {
  if (l->remaining == 0) return 0;
  --l->remaining;
  *out = folio_read_view_state(&l->r);
  return 1;
}
static inline int folio_next_view_command(folio_list* l, folio_command* out) {
  if (l->remaining == 0) return 0;
  --l->remaining;
  *out = folio_read_view_command(&l->r);
  return 1;
}

/* ---- SDK: talking to the host -----------------------------------------------------------------
 */
static inline uint32_t folio_strlen_(const char* s) {
  uint32_t n = 0;
  while (s[n] != 0) ++n;
  return n;
}

/* Rejects with a NUL-terminated reason. Never returns. */
__attribute__((noreturn)) static inline void folio_fail(const char* reason) {
  folio_reject(reason, folio_strlen_(reason));
  __builtin_unreachable();
}

/* A reason built from text and numbers, for messages like "transfer of 5 exceeds the balance 3". */
typedef struct {
  char text[256];
  uint32_t len;
} folio_message;

static inline void folio_message_add(folio_message* m, const char* s) {
  for (uint32_t i = 0; s[i] != 0 && m->len < sizeof m->text; ++i) m->text[m->len++] = s[i];
}
static inline void folio_message_add_bytes(folio_message* m, folio_bytes b) {
  for (uint32_t i = 0; i < b.len && m->len < sizeof m->text; ++i)
    m->text[m->len++] = (char)b.ptr[i];
}
static inline void folio_message_add_u64(folio_message* m, uint64_t v) {
  char digits[20];
  uint32_t n = 0;
  do {
    digits[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0 && m->len < sizeof m->text) m->text[m->len++] = digits[--n];
}
__attribute__((noreturn)) static inline void folio_fail_message(const folio_message* m) {
  folio_reject(m->text, m->len);
  __builtin_unreachable();
}

#if defined(__wasm__)
/* Copies `size` bytes from a host source into `small` when they fit, else into freshly grown
 * memory (so contracts need no allocator). Returns an empty view if memory cannot grow enough. */
static inline folio_bytes folio_load_(uint32_t size, void (*read)(void*, uint32_t, uint32_t),
                                      uint8_t* small, uint32_t small_size) {
  folio_bytes out = {0, 0};
  uint8_t* base = small;
  if (size > small_size) {
    uint32_t pages = (size + 65535u) / 65536u;
    uintptr_t grown = __builtin_wasm_memory_size(0) * 65536u;
    if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) return out;
    base = (uint8_t*)grown;
  }
  read(base, 0, size);
  out.ptr = base;
  out.len = size;
  return out;
}

/* Reads the whole transaction. */
static inline folio_bytes folio_load_transaction(void) {
  static uint8_t buffer[4096];
  return folio_load_((uint32_t)folio_tx_size(), folio_tx_read, buffer, sizeof buffer);
}

/* Reads the verified contract's ContractView. */
static inline folio_bytes folio_load_view(void) {
  static uint8_t buffer[2048];
  return folio_load_((uint32_t)folio_view_size(), folio_view_read, buffer, sizeof buffer);
}

/* Reads the deployment parameters. */
static inline folio_bytes folio_load_config(void) {
  static uint8_t buffer[256];
  return folio_load_((uint32_t)folio_config_size(), folio_config_read, buffer, sizeof buffer);
}

/* The name of the contract this run verifies, in a static buffer. */
static inline folio_bytes folio_this_contract(void) {
  static uint8_t name[128];
  folio_bytes out;
  int32_t n = folio_contract_name(name, sizeof name);
  out.ptr = name;
  out.len = (uint32_t)n <= sizeof name ? (uint32_t)n : (uint32_t)sizeof name;
  return out;
}
#endif

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* FOLIO_CONTRACT_H_ */
