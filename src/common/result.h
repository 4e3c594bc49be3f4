// Result<T>: a value or an Error, for everything that can fail. The OK path carries no
// error allocation.
#pragma once

#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include "common/error.h"

namespace hutong {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // Accessors assert the state: calling value() on an error is a programmer error.
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const& { return *error_; }
  Error&& error() && { return std::move(*error_); }

 private:
  std::optional<Error> error_;
};

using Status = Result<void>;
inline Status Ok() {
  return {};
}

}  // namespace hutong

// Propagates an error from an expression returning Result<...>.
#define HUTONG_CONCAT_INNER(a, b) a##b
#define HUTONG_CONCAT(a, b) HUTONG_CONCAT_INNER(a, b)
#define RETURN_IF_ERROR(expr)                                           \
  do {                                                                  \
    auto&& hutong_status_ = (expr);                                     \
    if (!hutong_status_.ok()) return std::move(hutong_status_).error(); \
  } while (0)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr)   \
  auto tmp = (expr);                            \
  if (!tmp.ok()) return std::move(tmp).error(); \
  lhs = std::move(tmp).value()
#define ASSIGN_OR_RETURN(lhs, expr) ASSIGN_OR_RETURN_IMPL(HUTONG_CONCAT(hutong_result_, __LINE__), lhs, expr)
