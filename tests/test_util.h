// Helpers shared by the test files.
#pragma once
#include "fastai/core/error.h"

#include <gtest/gtest.h>

#include <functional>
#include <initializer_list>
#include <string>

namespace fastai::testing {

/// The message of the fastai::Error that f throws, or "<no fastai::Error thrown>".
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const fastai::Error& e) {
    return e.what();
  }
  return "<no fastai::Error thrown>";
}

/// Runs f, which must throw fastai::Error whose message holds every one of `parts`.
inline void expect_error(const std::function<void()>& f, std::initializer_list<std::string> parts) {
  try {
    f();
  } catch (const fastai::Error& e) {
    const std::string msg = e.what();
    for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
    return;
  }
  ADD_FAILURE() << "no fastai::Error thrown";
}

}  // namespace fastai::testing
