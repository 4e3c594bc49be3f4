// Attribution tokens: the host's signed statement "this viewer came to the app from this
// creator's video at this time". The app carries it opaquely into its order and back into
// the host's payment order, where the host verifies it and credits the creator.
#pragma once

#include <optional>
#include <string>

#include "common/result.h"
#include "common/secret_box.h"
#include "storage/db.h"

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

// Checks the MAC and the app only: the age is the caller's to judge (a pay order with a
// stale token is simply not attributed). Anything else → kValidationFailed.
Result<Attribution> ParseAttributionToken(const SecretBox& box, const std::string& token,
                                          const std::string& app_id);

// Last click wins: the viewer's latest launch of `app_id` from a video, kept per (app,
// user) and replaced only by a newer one.
Status RecordAttributionClick(storage::Tx& tx, const Attribution& a, const std::string& user_id);
// The attribution a payment of `user_id` to `app_id` created at `now_ms` carries: the
// newer of the presented token and the recorded last click, if at most
// kAttributionWindowMs old (exactly 7 days still counts), else none.
Result<std::optional<Attribution>> ResolveAttribution(storage::Tx& tx,
                                                      const std::optional<Attribution>& token,
                                                      const std::string& app_id, const std::string& user_id,
                                                      int64_t now_ms);
// The same choice, for a caller that read the recorded last click itself (in a statement
// of its own: the pay order's creation reads it with the buyer's openid).
std::optional<Attribution> ChooseAttribution(const std::optional<Attribution>& token,
                                             const std::optional<Attribution>& last_click, int64_t now_ms);

}  // namespace hutong::host
