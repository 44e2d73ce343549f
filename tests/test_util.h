// Helpers shared by the test files.
#pragma once
#include "fastai/core/error.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <system_error>
#include <unistd.h>
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

/// A fresh folder per test (named after the running test), removed at the end.
struct TmpDir {
  std::filesystem::path p;
  TmpDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = "fastai_";
    name += info ? info->test_suite_name() : "test";
    name += "_";
    name += info ? info->name() : "x";
    name += "_";
    name += std::to_string(::getpid());
    p = std::filesystem::temp_directory_path() / name;
    std::filesystem::remove_all(p);
    std::filesystem::create_directories(p);
  }
  ~TmpDir() {
    std::error_code ec;
    std::filesystem::remove_all(p, ec);
  }
  /// Writes `text` to a file of this folder; returns its path.
  std::filesystem::path write(const std::string& name, const std::string& text) const {
    std::ofstream(p / name, std::ios::binary) << text;
    return p / name;
  }
  TmpDir(const TmpDir&) = delete;
  TmpDir& operator=(const TmpDir&) = delete;
};

}  // namespace fastai::testing
