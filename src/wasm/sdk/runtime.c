/* The few libc functions that clang may call from a freestanding wasm32 contract (struct copies,
 * zeroing, comparisons). Linked into every contract by folio_wasm_contract(); written as plain
 * loops because contracts have no bulk-memory instructions. LLVM does not turn the body of a
 * function named memcpy or memset back into a call to itself. */
#include <stddef.h>
#include <stdint.h>

void* memcpy(void* dst, const void* src, size_t n) {
  uint8_t* d = (uint8_t*)dst;
  const uint8_t* s = (const uint8_t*)src;
  for (size_t i = 0; i < n; ++i) d[i] = s[i];
  return dst;
}

void* memmove(void* dst, const void* src, size_t n) {
  uint8_t* d = (uint8_t*)dst;
  const uint8_t* s = (const uint8_t*)src;
  if (d < s) {
    for (size_t i = 0; i < n; ++i) d[i] = s[i];
  } else {
    for (size_t i = n; i > 0; --i) d[i - 1] = s[i - 1];
  }
  return dst;
}

void* memset(void* dst, int value, size_t n) {
  uint8_t* d = (uint8_t*)dst;
  for (size_t i = 0; i < n; ++i) d[i] = (uint8_t)value;
  return dst;
}

int memcmp(const void* a, const void* b, size_t n) {
  const uint8_t* x = (const uint8_t*)a;
  const uint8_t* y = (const uint8_t*)b;
  for (size_t i = 0; i < n; ++i)
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  return 0;
}
