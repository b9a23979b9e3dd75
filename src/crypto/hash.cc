#include "crypto/hash.h"

#include <openssl/evp.h>

namespace folio::crypto {
namespace {

const EVP_MD* sha256_md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  FOLIO_ASSERT(md != nullptr);
  return md;
}

struct ThreadContext {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~ThreadContext() { EVP_MD_CTX_free(ctx); }
};

}  // namespace

Hash256 sha256(ByteView data) {
  thread_local ThreadContext tc;
  Hash256 out;
  unsigned int len = 0;
  FOLIO_ASSERT(EVP_DigestInit_ex(tc.ctx, sha256_md(), nullptr) == 1);
  FOLIO_ASSERT(EVP_DigestUpdate(tc.ctx, data.data(), data.size()) == 1);
  FOLIO_ASSERT(EVP_DigestFinal_ex(tc.ctx, out.data(), &len) == 1);
  FOLIO_ASSERT(len == 32);
  return out;
}

Sha256::Sha256() : context_(EVP_MD_CTX_new()) {
  FOLIO_ASSERT(context_ != nullptr);
  FOLIO_ASSERT(EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(context_), sha256_md(), nullptr) == 1);
}

Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(context_)); }

Sha256& Sha256::update(ByteView data) {
  FOLIO_ASSERT(EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(context_), data.data(), data.size()) == 1);
  return *this;
}

Hash256 Sha256::finish() {
  Hash256 out;
  unsigned int len = 0;
  FOLIO_ASSERT(EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(context_), out.data(), &len) == 1);
  FOLIO_ASSERT(len == 32);
  return out;
}

}  // namespace folio::crypto
