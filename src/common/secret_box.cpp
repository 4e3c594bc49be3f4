#include "common/secret_box.h"

#include <sodium.h>

#include <vector>

#include "common/crypto.h"
#include "common/hex.h"
#include "common/password.h"
#include "common/random.h"

namespace hutong {
namespace {

bool HexDecode(std::string_view hex, std::vector<uint8_t>& out) {
  if (hex.size() % 2 != 0) return false;
  out.resize(hex.size() / 2);
  size_t bin_len = 0;
  return sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &bin_len, nullptr) == 0 &&
         bin_len == out.size();
}

}  // namespace

Result<SecretBox> SecretBox::FromHex(std::string_view hex_key) {
  InitCrypto();
  std::vector<uint8_t> bytes;
  if (hex_key.size() != kKeyBytes * 2 || !HexDecode(hex_key, bytes)) {
    return Invalid("the master key must be 64 hexadecimal characters (32 bytes)");
  }
  std::array<uint8_t, kKeyBytes> key{};
  std::copy(bytes.begin(), bytes.end(), key.begin());
  return SecretBox(key);
}

std::string SecretBox::NewHexKey() {
  return RandomHex(kKeyBytes);
}

std::string SecretBox::Seal(std::string_view plaintext) const {
  std::vector<uint8_t> out(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plaintext.size());
  FillRandom(out.data(), crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(out.data() + crypto_secretbox_NONCEBYTES,
                        reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size(),
                        out.data(), key_.data());
  return "v1:" + HexEncode(out.data(), out.size());
}

Result<std::string> SecretBox::Open(std::string_view sealed) const {
  std::vector<uint8_t> bytes;
  if (sealed.substr(0, 3) != "v1:" || !HexDecode(sealed.substr(3), bytes) ||
      bytes.size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
    return Internal("sealed secret is malformed");
  }
  std::string plain(bytes.size() - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(
          reinterpret_cast<unsigned char*>(plain.data()), bytes.data() + crypto_secretbox_NONCEBYTES,
          bytes.size() - crypto_secretbox_NONCEBYTES, bytes.data(), key_.data()) != 0) {
    return Internal("sealed secret does not open under this master key");
  }
  return plain;
}

std::string SecretBox::DeriveKey(std::string_view purpose) const {
  return HmacSha256Hex(std::string_view(reinterpret_cast<const char*>(key_.data()), key_.size()), purpose);
}

}  // namespace hutong
