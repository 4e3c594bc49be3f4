#include "common/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

#include "common/hex.h"

namespace hutong {
namespace {

// OpenSSL 3's one-shot calls (EVP_Digest with EVP_sha256(), HMAC()) look the algorithm up
// by name on every call, under the library's global lock, and build a fresh context:
// about 20 allocations per HMAC and 8 per hash, several per purchase (request signing,
// webhook signatures, session and token hashes). The algorithms are fetched once here and
// each thread keeps its own contexts, re-initialised per call (bench/NOTES.md).
const EVP_MD* FetchedSha256() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  return md;
}

EVP_MAC* FetchedHmac() {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  return mac;
}

// One thread's contexts; used only by that thread, freed when it ends.
struct ThreadContexts {
  EVP_MD_CTX* digest = nullptr;
  EVP_MAC_CTX* hmac = nullptr;  // digest parameter set to SHA-256 once, on creation

  ThreadContexts() = default;
  ThreadContexts(const ThreadContexts&) = delete;
  ThreadContexts& operator=(const ThreadContexts&) = delete;
  ~ThreadContexts() {
    EVP_MD_CTX_free(digest);
    EVP_MAC_CTX_free(hmac);
  }

  EVP_MD_CTX* Digest() {
    if (digest == nullptr) digest = EVP_MD_CTX_new();
    return digest;
  }
  EVP_MAC_CTX* Hmac() {
    if (hmac != nullptr) return hmac;
    EVP_MAC* mac = FetchedHmac();
    if (mac == nullptr) return nullptr;
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
    if (ctx == nullptr) return nullptr;
    char digest_name[] = "SHA2-256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
                                 OSSL_PARAM_construct_end()};
    if (EVP_MAC_CTX_set_params(ctx, params) != 1) {
      EVP_MAC_CTX_free(ctx);
      return nullptr;
    }
    hmac = ctx;
    return hmac;
  }
};

thread_local ThreadContexts t_contexts;

}  // namespace

std::string Sha256Hex(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = t_contexts.Digest();
  const EVP_MD* md = FetchedSha256();
  if (ctx == nullptr || md == nullptr || EVP_DigestInit_ex2(ctx, md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx, data.data(), data.size()) != 1 || EVP_DigestFinal_ex(ctx, out, &len) != 1) {
    // Only when OpenSSL itself failed (out of memory): the one-shot call, as before.
    len = 0;
    EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr);
  }
  return HexEncode(out, len);
}

std::string HmacSha256Hex(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t len = 0;
  // EVP_MAC_init reads a null key as "keep the previous call's key": never pass one.
  static const unsigned char kEmptyKey[1] = {0};
  const auto* key_bytes = key.empty() ? kEmptyKey : reinterpret_cast<const unsigned char*>(key.data());
  EVP_MAC_CTX* ctx = t_contexts.Hmac();
  if (ctx != nullptr && EVP_MAC_init(ctx, key_bytes, key.size(), nullptr) == 1 &&
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1 &&
      EVP_MAC_final(ctx, out, &len, sizeof out) == 1) {
    return HexEncode(out, len);
  }
  // Only when OpenSSL itself failed (out of memory): the one-shot call, as before.
  unsigned int one_shot_len = 0;
  HMAC(EVP_sha256(), key_bytes, static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &one_shot_len);
  return HexEncode(out, one_shot_len);
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace hutong
