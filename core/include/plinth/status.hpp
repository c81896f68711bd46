// status.hpp — the core's one error type: Status (code + message) and
// Result<T> (a value or a Status). Converted to and from plinth_status at the
// ABI boundary in plugin/abi.cpp only. No exceptions cross module boundaries.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

#include "plinth/plugin.h"

namespace plinth {

enum class errc {
  ok = 0,
  invalid_argument,  // bad value in a call or a config
  unsupported,
  out_of_memory,
  io,         // missing or unreadable file
  not_found,  // unknown name (plugin, key, layer)
  timeout,
  internal,
  bad_data,     // malformed file contents
  unavailable,  // device or peer gone
  config,       // a pipeline or manifest error (file:line:col in message)
  cancelled,    // stopped by the user (Ctrl-C)
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(errc code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status ok_status() { return {}; }

  bool ok() const { return code_ == errc::ok; }
  explicit operator bool() const { return ok(); }
  errc code() const { return code_; }
  const std::string& message() const { return message_; }

  // Bad input (config, data, unknown names) exits 2; everything else 1.
  bool is_bad_input() const {
    switch (code_) {
      case errc::invalid_argument:
      case errc::io:
      case errc::not_found:
      case errc::bad_data:
      case errc::config:
        return true;
      default:
        return false;
    }
  }
  int exit_code() const { return ok() ? 0 : (is_bad_input() ? 2 : 1); }

  // Prefix the message with context: "loading x: <message>".
  Status& with_context(const std::string& ctx) {
    if (!ok()) message_ = ctx + ": " + message_;
    return *this;
  }

 private:
  errc code_ = errc::ok;
  std::string message_;
};

inline Status error(errc code, std::string message) { return {code, std::move(message)}; }

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).ok());
  }
  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Status& status() const {
    static const Status ok_s;
    return ok() ? ok_s : std::get<Status>(v_);
  }

 private:
  std::variant<T, Status> v_;
};

// Map between the ABI's status codes and the core's.
errc from_abi(plinth_status s);
plinth_status to_abi(errc c);

}  // namespace plinth

// Return early on failure: PLINTH_TRY(do_something());
#define PLINTH_TRY(expr)                   \
  do {                                     \
    ::plinth::Status _plinth_s = (expr);   \
    if (!_plinth_s.ok()) return _plinth_s; \
  } while (0)
