// The provider's half of the demo: brands of the launch campaign and others covering
// every category, their stores, deals of every type, staff accounts and 新年好食记.
#pragma once

#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "storage/db.h"

namespace hutong::provider {

enum class SeedOutcome { kSeeded, kAlreadySeeded };
enum class DemoState { kEmpty, kDemo, kForeign };

// What the database holds: nothing, the demo, or data the demo did not put there.
Result<DemoState> ProviderDemoState(storage::Db& db);

// Refuses (kDemoRefused) when the database already holds data that the demo did not put
// there; does nothing when the demo is already in.
Result<SeedOutcome> SeedDemoCatalog(storage::Db& db, const Clock& clock);

// The demo password of every demo account, documented in the README.
inline constexpr const char* kDemoPassword = "demo-pass-1";

}  // namespace hutong::provider
