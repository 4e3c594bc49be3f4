#include "jobs/jobs_json.h"

#include "common/clock.h"

namespace hutong::jobs {

json::object JobStatesJson(const std::vector<JobState>& states, int64_t now_ms) {
  auto time = [](std::optional<int64_t> ms) {
    return ms ? json::value(FormatRfc3339(*ms)) : json::value(nullptr);
  };
  json::array items;
  for (const JobState& s : states) {
    const bool held = !s.holder.empty() && s.lease_until > now_ms;
    json::object o{{"name", s.name},
                   {"held", held},
                   {"last_error", s.last_error},
                   {"runs", s.runs},
                   {"failures", s.failures}};
    o["holder"] = held ? json::value(s.holder) : json::value(nullptr);
    o["lease_until"] = held ? time(s.lease_until) : json::value(nullptr);
    o["last_started_at"] = time(s.last_started_at);
    o["last_run_at"] = time(s.last_run_at);
    o["last_success_at"] = time(s.last_success_at);
    items.push_back(std::move(o));
  }
  return json::object{{"items", std::move(items)}};
}

}  // namespace hutong::jobs
