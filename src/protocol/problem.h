// Reading another Hutong node's answers: its problem+json errors back into our own Error
// vocabulary, so that e.g. the host's `out_of_stock` reaches the provider's code as
// ErrorCode::kOutOfStock.
#pragma once

#include <boost/json/value.hpp>
#include <optional>
#include <string_view>

#include "common/result.h"
#include "http/client.h"

namespace hutong::protocol {

// The ErrorCode whose ErrorCodeName is `name`; nullopt for a name that is not one of ours.
std::optional<ErrorCode> ErrorCodeFromName(std::string_view name);

// The Error that a non-2xx answer stands for. `what` names the call for the log (e.g.
// "POST http://host/open/v1/pay-orders") and lands only in Error::internal.
//  - 5xx (whatever its body says) → kUnavailable: the dependency failed, not our caller.
//  - a problem+json body whose `code` is one of ours → that code, with its `detail`.
//  - otherwise the closest code for the status (404 → kNotFound, 429 → kRateLimited, …),
//    kInternal when there is none (a 3xx means a misconfigured base URL).
Error ErrorFromResponse(const http::ClientResponse& response, std::string_view what);

// The JSON body of a 2xx answer (null for an empty body), or ErrorFromResponse. A 2xx body
// that is not JSON → kUnavailable.
Result<boost::json::value> JsonFromResponse(const http::ClientResponse& response, std::string_view what);

}  // namespace hutong::protocol
