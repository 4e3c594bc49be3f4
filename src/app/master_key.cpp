#include "app/master_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/log.h"

namespace hutong::app {

Result<SecretBox> LoadMasterKey(const Config& config) {
  if (!config.master_key.empty()) return SecretBox::FromHex(config.master_key);
  const std::string path = config.data_dir + "/master.key";
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  // O_EXCL: if two processes start at once, exactly one writes the key, the other reads it.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd >= 0) {
    const std::string key = SecretBox::NewHexKey() + "\n";
    const bool ok =
        ::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) return Internal("cannot write " + path + ": " + std::strerror(errno));
    LogWarn("created a master key file; back it up, and give every node the same key (--master-key)",
            {{"path", std::string_view(path)}});
  } else if (errno != EEXIST) {
    return Internal("cannot create " + path + ": " + std::strerror(errno));
  }
  std::ifstream in(path);
  std::string hex;
  in >> hex;
  if (!in && !in.eof()) return Internal("cannot read " + path);
  auto box = SecretBox::FromHex(hex);
  if (!box.ok()) return Error(ErrorCode::kValidationFailed, path + " does not hold a valid master key");
  return box;
}

}  // namespace hutong::app
