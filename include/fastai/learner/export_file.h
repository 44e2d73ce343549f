// The file format of learner exports (Learner::export_to, TabularLearner::export_to): a LibTorch
// archive holding "fastai.export", the metadata JSON as bytes, and "model.<name>" entries, the
// model's parameters and buffers (as Learner::save writes them).
#pragma once
#include <torch/nn/module.h>
#include <torch/serialize/input-archive.h>

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace fastai {

/// Writes `meta` and the parameters and buffers of `m` (as CPU tensors) to `file`, atomically.
void write_export_file(const std::filesystem::path& file, const nlohmann::json& meta, torch::nn::Module& m);

/// An export file opened for reading: its metadata, and the archive its weights are read from.
struct ExportFile {
  nlohmann::json meta;
  torch::serialize::InputArchive archive;
};
/// Opens `file`, checking `meta.format` == `format` and `meta.version` == `version` unless
/// `format` is empty. `who` (e.g. "load_learner") starts every error, which names the file:
/// missing, not an archive, no metadata entry, metadata that is not JSON, another format or version.
ExportFile read_export_file(const std::filesystem::path& file, const std::string& format, int version,
                            const std::string& who);
/// The format / version check of read_export_file, for a file opened without one.
void check_export_format(const ExportFile& f, const std::filesystem::path& file, const std::string& format, int version,
                         const std::string& who);
/// Copies the file's "model.<name>" entries into every parameter and buffer of `m`. Errors name
/// the file and the entry that is missing or has another shape.
void load_export_weights(ExportFile& f, torch::nn::Module& m, const std::filesystem::path& file, const std::string& who);

}  // namespace fastai
