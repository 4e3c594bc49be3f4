// The master key that seals app secrets: from configuration, or a key file in the data
// folder that is created (mode 0600) the first time, so the demo needs no setup.
#pragma once

#include "app/config.h"
#include "common/result.h"
#include "common/secret_box.h"

namespace hutong::app {

Result<SecretBox> LoadMasterKey(const Config& config);

}  // namespace hutong::app
