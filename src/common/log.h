// Structured logging: one JSON object per line on stdout.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace hutong {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

using LogValue = std::variant<std::string_view, int64_t, double, bool>;
using LogField = std::pair<std::string_view, LogValue>;

// Thread-safe; a whole line is written at once.
void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {});
void SetLogLevel(LogLevel level);
bool ParseLogLevel(std::string_view text, LogLevel& out);

inline void LogInfo(std::string_view msg, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kInfo, msg, f);
}
inline void LogWarn(std::string_view msg, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kWarn, msg, f);
}
inline void LogError(std::string_view msg, std::initializer_list<LogField> f = {}) {
  Log(LogLevel::kError, msg, f);
}

// Appends `s` to `out` as a JSON string literal, quotes included.
void AppendJsonString(std::string& out, std::string_view s);

}  // namespace hutong
