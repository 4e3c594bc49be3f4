// Batched webhook delivery, an opt-in extension of the single-event webhook (DESIGN
// "Open-API conventions", docs/open-api.md "Batched delivery"). A receiver that can take
// several events in one POST says so on its 2xx answers with `Hutong-Webhook-Batch: <n>`
// (n ≥ 2: at most n events per POST). A host that saw it may then post
//   {"events":[<event>, <event>, …]}
// (each element exactly the body it would have posted alone), signed once over the whole
// raw body with the usual Hutong-Signature header, and the receiver answers 200 with
//   {"results":[{"event_id":…,"status":"processed"|"duplicate"|"failed","detail":…}, …]}
// one per event. "failed" events (and any without a result) are retried like a failed
// single delivery; the others count as delivered. Hosts send a receiver that never
// advertised it single events only, so receivers that know nothing of this keep working.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hutong::protocol {

inline constexpr std::string_view kWebhookBatchHeader = "Hutong-Webhook-Batch";
inline constexpr int kWebhookBatchLimit = 256;  // the most a host posts at once, whatever is advertised

// {"events":[…]} from stored event bodies (each the exact JSON object posted alone).
std::string WebhookBatchBody(const std::vector<const std::string*>& events);

// The number of events per POST a receiver's Hutong-Webhook-Batch header allows: 0 when
// absent or malformed or below 2 (single events only), at most kWebhookBatchLimit.
int ParseWebhookBatchLimit(std::string_view header_value);

}  // namespace hutong::protocol
