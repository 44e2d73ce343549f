// Small file and formatting utilities shared by every layer.
#pragma once
#include <filesystem>
#include <functional>
#include <string>

namespace fastai {

/// Writes `dst` atomically: `write` fills a temporary file beside it, which is then renamed over
/// `dst` (so a failed or interrupted write leaves the old file intact). Parent folders are
/// created. Throws fastai::Error naming `dst` when anything fails; the temporary is removed.
void atomic_write(const std::filesystem::path& dst, const std::function<void(const std::filesystem::path& tmp)>& write);

/// Seconds as fastai prints durations: "mm:ss", or "h:mm:ss" from one hour on.
std::string format_time(double seconds);

/// $FASTAI_HOME, or ~/.fastai-cpp when unset (the dataset registry lives in its data/ folder).
std::filesystem::path fastai_home();

}  // namespace fastai
