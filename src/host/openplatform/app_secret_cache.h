// Apps' signing secrets remembered for a few seconds, so a signed open-API request (every
// purchase's pay order) costs no database read and no unsealing of its app's secret.
//
// Trust: an entry read from the database is used for `trust_ms` (5 s); then the next
// request reads it again. What that window means:
//  - A new secret (rotation on any node) is accepted at once: a request whose signature
//    fails against remembered secrets is verified again against the database's.
//  - The previous secret's grace ends on time: its expiry is kept and checked at each use.
//  - A rotation with no grace or a disabled app: on the node that made the change at once
//    (Forget), on other nodes after at most `trust_ms` (the window).
// Unknown and disabled apps are never remembered (a miss reads the database, as before).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "common/secret_box.h"
#include "host/openplatform/apps.h"
#include "storage/db.h"

namespace hutong::host {

class AppSecretCache {
 public:
  static constexpr int64_t kTrustMs = 5000;

  explicit AppSecretCache(int64_t trust_ms = kTrustMs, size_t max_apps = 10'000)
      : trust_ms_(trust_ms), max_apps_(max_apps) {}

  // AppSecrets' answer: from memory when read less than trust_ms ago (then *from_memory is
  // true), else from the database (and remembered). Thread-safe; may block on a read.
  Result<std::vector<std::string>> Secrets(storage::Db& db, const SecretBox& box, const std::string& app_id,
                                           int64_t now_ms, bool* from_memory);
  // Drops the app's entry (its secrets or status changed here); a read in flight that
  // started before cannot put the old secrets back.
  void Forget(const std::string& app_id);

 private:
  struct Entry {
    AppSecretSet secrets;
    int64_t read_at = 0;
  };
  const int64_t trust_ms_;
  const size_t max_apps_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> apps_;  // GUARDED_BY(mu_)
  uint64_t generation_ = 0;                      // GUARDED_BY(mu_): bumped by Forget
};

}  // namespace hutong::host
