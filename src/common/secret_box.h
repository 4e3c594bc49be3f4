// Authenticated encryption of small secrets at rest (app secrets), with libsodium's
// secretbox (XSalsa20-Poly1305) under a 32-byte master key from configuration.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace hutong {

class SecretBox {
 public:
  static constexpr size_t kKeyBytes = 32;

  // From 64 hex characters; anything else → kValidationFailed.
  static Result<SecretBox> FromHex(std::string_view hex_key);
  // A fresh random key as 64 hex characters (for `hutong` to create a key file).
  static std::string NewHexKey();

  // "v1:" + hex(nonce || ciphertext). A new random nonce every call.
  std::string Seal(std::string_view plaintext) const;
  // Fails (kInternal) when the text was not sealed under this key or was altered.
  Result<std::string> Open(std::string_view sealed) const;

  // HMAC-SHA256(master key, purpose): an independent key for another use (openids,
  // attribution tokens), so the master key itself is used for one thing only.
  std::string DeriveKey(std::string_view purpose) const;

 private:
  explicit SecretBox(const std::array<uint8_t, kKeyBytes>& key) : key_(key) {}
  std::array<uint8_t, kKeyBytes> key_;
};

}  // namespace hutong
