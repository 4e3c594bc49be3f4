#include "host/openplatform/app_secret_cache.h"

namespace hutong::host {

Result<std::vector<std::string>> AppSecretCache::Secrets(storage::Db& db, const SecretBox& box,
                                                         const std::string& app_id, int64_t now_ms,
                                                         bool* from_memory) {
  *from_memory = false;
  uint64_t generation = 0;
  {
    std::lock_guard lock(mu_);
    auto it = apps_.find(app_id);
    if (it != apps_.end() && now_ms - it->second.read_at < trust_ms_ && now_ms >= it->second.read_at) {
      *from_memory = true;
      return it->second.secrets.UsableAt(now_ms);
    }
    generation = generation_;
  }
  ASSIGN_OR_RETURN(auto set, LoadAppSecrets(db, box, app_id));
  if (!set) {
    Forget(app_id);
    return std::vector<std::string>();
  }
  std::vector<std::string> usable = set->UsableAt(now_ms);
  std::lock_guard lock(mu_);
  if (generation == generation_) {
    if (apps_.size() >= max_apps_ && !apps_.contains(app_id)) apps_.clear();
    apps_[app_id] = Entry{*std::move(set), now_ms};
  }
  return usable;
}

void AppSecretCache::Forget(const std::string& app_id) {
  std::lock_guard lock(mu_);
  ++generation_;
  apps_.erase(app_id);
}

}  // namespace hutong::host
