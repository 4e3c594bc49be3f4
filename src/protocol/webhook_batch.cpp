#include "protocol/webhook_batch.h"

#include <charconv>

namespace hutong::protocol {

std::string WebhookBatchBody(const std::vector<const std::string*>& events) {
  size_t size = 14;
  for (const std::string* e : events) size += e->size() + 1;
  std::string body;
  body.reserve(size);
  body.append("{\"events\":[");
  for (size_t i = 0; i < events.size(); ++i) {
    if (i > 0) body.push_back(',');
    body.append(*events[i]);
  }
  body.append("]}");
  return body;
}

int ParseWebhookBatchLimit(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  int n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size() || n < 2) return 0;
  return n > kWebhookBatchLimit ? kWebhookBatchLimit : n;
}

}  // namespace hutong::protocol
