// Attribution tokens: the host's signed statement "this viewer came to the app from this
// creator's video at this time". The app carries it opaquely into its order and back into
// the host's payment order, where the host verifies it and credits the creator.
#pragma once

#include <string>

#include "common/result.h"
#include "common/secret_box.h"

namespace hutong::host {

inline constexpr int64_t kAttributionWindowMs = 7LL * 24 * 3600 * 1000;  // last click within 7 days

struct Attribution {
  std::string creator_id;
  std::string video_id;
  std::string app_id;
  int64_t issued_at = 0;  // unix ms
};

// "at1.<base64url(JSON)>.<hex HMAC-SHA256>" under a key derived from the master key.
std::string IssueAttributionToken(const SecretBox& box, const Attribution& a);
// Checks the MAC, the app it was issued for, and that it is at most kAttributionWindowMs
// old; anything else → kValidationFailed.
Result<Attribution> VerifyAttributionToken(const SecretBox& box, const std::string& token,
                                           const std::string& app_id, int64_t now_ms);

}  // namespace hutong::host
