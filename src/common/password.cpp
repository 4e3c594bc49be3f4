#include "common/password.h"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>

namespace hutong {

void InitCrypto() {
  if (sodium_init() < 0) {
    std::fputs("fatal: libsodium failed to initialise\n", stderr);
    std::abort();
  }
}

Result<std::string> HashPassword(std::string_view password) {
  InitCrypto();
  char out[crypto_pwhash_STRBYTES];
  // Interactive limits: ~64 MiB, a few tens of ms; fine for logins, rate-limited anyway.
  if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    return Internal("crypto_pwhash_str failed (out of memory?)");
  }
  return std::string(out);
}

bool VerifyPassword(std::string_view password, const std::string& stored_hash) {
  InitCrypto();
  return crypto_pwhash_str_verify(stored_hash.c_str(), password.data(), password.size()) == 0;
}

}  // namespace hutong
