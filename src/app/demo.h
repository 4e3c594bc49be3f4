// `hutong seed-demo`: the provider's catalog first, then the host's content mounting it.
#pragma once

#include "app/config.h"
#include "common/result.h"

namespace hutong::app {

Status RunSeedDemo(const Config& config);

}  // namespace hutong::app
