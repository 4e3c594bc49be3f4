#include "host/openplatform/attribution.h"

#include <boost/json.hpp>

#include "common/base64.h"
#include "common/crypto.h"

namespace hutong::host {
namespace json = boost::json;

using storage::Access;
using storage::Query;

namespace {
constexpr std::string_view kPrefix = "at1.";
constexpr Query kRecordClick{
    "attribution.record_click", Access::kWrite,
    "INSERT INTO attribution_clicks (app_id, user_id, creator_id, video_id, clicked_at) "
    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (app_id, user_id) DO UPDATE SET "
    "creator_id = excluded.creator_id, video_id = excluded.video_id, "
    "clicked_at = excluded.clicked_at WHERE excluded.clicked_at >= attribution_clicks.clicked_at"};
constexpr Query kLastClick{"attribution.last_click", Access::kRead,
                           "SELECT creator_id, video_id, clicked_at FROM attribution_clicks "
                           "WHERE app_id = $1 AND user_id = $2"};
std::string Mac(const SecretBox& box, std::string_view payload) {
  static const std::string kPurpose = "hutong attribution v1";
  return HmacSha256Hex(box.DeriveKey(kPurpose), payload);
}
}  // namespace

std::string IssueAttributionToken(const SecretBox& box, const Attribution& a) {
  const std::string payload = Base64UrlEncode(json::serialize(
      json::object{{"c", a.creator_id}, {"v", a.video_id}, {"a", a.app_id}, {"t", a.issued_at}}));
  return std::string(kPrefix) + payload + "." + Mac(box, payload);
}

Result<Attribution> VerifyAttributionToken(const SecretBox& box, const std::string& token,
                                           const std::string& app_id, int64_t now_ms) {
  ASSIGN_OR_RETURN(auto out, ParseAttributionToken(box, token, app_id));
  if (out.issued_at > now_ms + 60'000 || now_ms - out.issued_at > kAttributionWindowMs) {
    return Invalid("attribution token is invalid or expired");
  }
  return out;
}

Result<Attribution> ParseAttributionToken(const SecretBox& box, const std::string& token,
                                          const std::string& app_id) {
  const Error invalid = Invalid("attribution token is invalid or expired");
  if (token.size() > 1024 || !token.starts_with(kPrefix)) return invalid;
  const std::string_view rest = std::string_view(token).substr(kPrefix.size());
  const size_t dot = rest.rfind('.');
  if (dot == std::string_view::npos) return invalid;
  const std::string_view payload = rest.substr(0, dot);
  if (!ConstantTimeEquals(rest.substr(dot + 1), Mac(box, payload))) return invalid;
  auto decoded = Base64UrlDecode(payload);
  if (!decoded) return invalid;
  boost::system::error_code ec;
  auto v = json::parse(*decoded, ec);
  if (ec || !v.is_object()) return invalid;
  const auto& o = v.as_object();
  const auto* c = o.if_contains("c");
  const auto* vid = o.if_contains("v");
  const auto* a = o.if_contains("a");
  const auto* t = o.if_contains("t");
  if (!c || !vid || !a || !t || !c->is_string() || !vid->is_string() || !a->is_string() || !t->is_int64()) {
    return invalid;
  }
  Attribution out{std::string(c->as_string()), std::string(vid->as_string()), std::string(a->as_string()),
                  t->as_int64()};
  if (out.app_id != app_id) return invalid;
  return out;
}

Status RecordAttributionClick(storage::Tx& tx, const Attribution& a, const std::string& user_id) {
  RETURN_IF_ERROR(tx.Exec(kRecordClick, {a.app_id, user_id, a.creator_id, a.video_id, a.issued_at}));
  return Ok();
}

Result<std::optional<Attribution>> ResolveAttribution(storage::Tx& tx,
                                                      const std::optional<Attribution>& token,
                                                      const std::string& app_id, const std::string& user_id,
                                                      int64_t now_ms) {
  ASSIGN_OR_RETURN(auto rows, tx.Exec(kLastClick, {app_id, user_id}));
  std::optional<Attribution> last_click;
  if (!rows.empty()) last_click = Attribution{rows[0].Str(0), rows[0].Str(1), app_id, rows[0].Int(2)};
  return ChooseAttribution(token, last_click, now_ms);
}

std::optional<Attribution> ChooseAttribution(const std::optional<Attribution>& token,
                                             const std::optional<Attribution>& last_click, int64_t now_ms) {
  std::optional<Attribution> best;
  // A token from the future (beyond clock skew) is ignored rather than trusted.
  auto consider = [&](const Attribution& a) {
    if (a.issued_at > now_ms + 60'000 || now_ms - a.issued_at > kAttributionWindowMs) return;
    if (!best || a.issued_at > best->issued_at) best = a;
  };
  if (token) consider(*token);
  if (last_click) consider(*last_click);
  return best;
}

}  // namespace hutong::host
