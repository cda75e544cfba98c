#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace uml::process {

// The error half of a Result (as std::unexpected is std::expected's): why something
// failed, in words, e.g. "cannot open /x: No such file or directory".
struct Failure {
  std::string reason;
};

// A value or the reason there is none: a small std::expected<T, std::string>, which
// C++20 lacks. `return value;` or `return Failure{"why"};`.
template <class T>
class Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit
  Result(Failure failure)                                                // NOLINT: implicit
      : state_(std::in_place_index<1>, std::move(failure.reason)) {}

  explicit operator bool() const { return state_.index() == 0; }
  bool has_value() const { return state_.index() == 0; }

  T& operator*() & { return std::get<0>(state_); }
  const T& operator*() const& { return std::get<0>(state_); }
  T&& operator*() && { return std::get<0>(std::move(state_)); }
  T* operator->() { return &std::get<0>(state_); }
  const T* operator->() const { return &std::get<0>(state_); }

  // The value; throws std::runtime_error with the reason when there is none.
  T& value() & {
    check();
    return std::get<0>(state_);
  }
  const T& value() const& {
    check();
    return std::get<0>(state_);
  }
  T&& value() && {
    check();
    return std::get<0>(std::move(state_));
  }
  template <class U>
  T value_or(U&& fallback) const& {
    return has_value() ? std::get<0>(state_) : static_cast<T>(std::forward<U>(fallback));
  }

  // Why there is no value ("" when there is one).
  const std::string& error() const {
    static const std::string none;
    return has_value() ? none : std::get<1>(state_);
  }

 private:
  void check() const {
    if (!has_value()) {
      throw std::runtime_error(std::get<1>(state_));
    }
  }

  std::variant<T, std::string> state_;
};

// Success, or the reason for a failure: `return {};` or `return Failure{"why"};`.
template <>
class Result<void> {
 public:
  Result() = default;
  Result(Failure failure) : error_(std::move(failure.reason)) {}  // NOLINT: implicit

  explicit operator bool() const { return !error_; }
  bool has_value() const { return !error_; }

  // Throws std::runtime_error with the reason after a failure.
  void value() const {
    if (error_) {
      throw std::runtime_error(*error_);
    }
  }

  const std::string& error() const {
    static const std::string none;
    return error_ ? *error_ : none;
  }

 private:
  std::optional<std::string> error_;
};

}  // namespace uml::process
