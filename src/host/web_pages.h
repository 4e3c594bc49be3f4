// Files under web/ (pages served by the host), embedded into the binary at build time by
// cmake/embed_web.cmake, so `hutong serve` finds them whatever its working directory.
#pragma once

#include <string_view>

namespace hutong::host {

// The bytes of web/<name> (e.g. "cashier.html"); empty when there is no such file.
std::string_view EmbeddedWebFile(std::string_view name);

}  // namespace hutong::host
