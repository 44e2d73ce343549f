// Reading (and writing) weights in Python's formats, so that PyTorch / torchvision / fastai
// checkpoints load into C++ models: PyTorch's zip + pickle `.pth` files (torch.save of a
// state_dict, an OrderedDict that torch::pickle_load cannot read), fastai's learn.save files
// ({'model': ..., 'opt': ...}) and safetensors files.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace torch::nn {
class Module;
}

namespace fastai {

/// Named tensors in file order (a state_dict as Python's OrderedDict holds it).
using StateDict = std::vector<std::pair<std::string, at::Tensor>>;

/// The tensors of a `torch.save(...)` file (PyTorch >= 1.6 zip format), contiguous, in file order.
/// The pickle may hold a state dict (OrderedDict or dict of tensors / nn.Parameters), or a dict
/// whose "model" (fastai's learn.save) or "state_dict" entry is one; other entries are ignored.
/// Views saved as they are (a column, a transpose, an offset slice) come out with their values.
/// Throws fastai::Error naming the file for a missing file, a file that is not such a zip (the
/// legacy pre-1.6 format included), a truncated archive, an unknown pickle opcode (its offset), a
/// global other than OrderedDict / tensor and parameter rebuilds / torch.*Storage, a data entry
/// shorter than its tensors need, and a pickle that is not a state dict (a whole pickled module).
StateDict load_pth(const std::filesystem::path& file);

/// The tensors of a safetensors file (dtypes F32 F64 F16 BF16 I64 I32 I16 I8 U8 BOOL), in the
/// header's order; "__metadata__" is skipped. Throws fastai::Error naming the file for a missing
/// or short file, a bad header (length, JSON, dtype, shape, offsets outside the data).
StateDict load_safetensors(const std::filesystem::path& file);

/// Writes tensors as a safetensors file (atomically; "__metadata__": {"format": "pt"}), so that
/// Python's safetensors.torch.load_file reads them back. Tensors are made contiguous CPU copies.
void save_safetensors(const StateDict& sd, const std::filesystem::path& file);

/// A weights file by its format: safetensors (by its ".safetensors" extension) or a torch.save
/// .pth (anything else); Errors as load_safetensors / load_pth.
StateDict load_weights(const std::filesystem::path& file);

/// The module's parameters and buffers by name (PyTorch's module.state_dict()), detached CPU
/// tensors in named_parameters-then-named_buffers order: what save_safetensors writes for
/// another program or Python to load.
StateDict state_dict(const torch::nn::Module& m);

/// The same entries as a map by name (a later duplicate name wins).
std::map<std::string, at::Tensor> state_dict_map(const StateDict& sd);

struct LoadStateDictOptions {
  bool strict = true;  ///< every parameter / buffer of the module has an entry and every entry a target
};

/// What load_state_dict left alone (empty when everything matched): PyTorch's _IncompatibleKeys.
struct LoadStateDictResult {
  std::vector<std::string> missing_keys;     ///< parameters / buffers of the module with no entry
  std::vector<std::string> unexpected_keys;  ///< entries that name no parameter / buffer
};

/// Copies `sd` by name into the module's parameters and buffers (PyTorch's
/// `module.load_state_dict`; names as named_parameters / named_buffers give them, "0.weight").
/// Values are converted to the target's dtype. A shape mismatch is always an error; missing or
/// unexpected keys are errors when `strict`, returned otherwise. Errors list up to 5 names of each.
LoadStateDictResult load_state_dict(torch::nn::Module& m, const StateDict& sd, LoadStateDictOptions opts = {});

namespace pth_detail {
/// Reads the storage `key` of the archive as a 1-d tensor of `dtype` (all its bytes).
using StorageLoader = std::function<at::Tensor(const std::string& key, at::ScalarType dtype)>;

/// The state dict held by the protocol-2 pickle `data` (the `data.pkl` of a .pth archive); `where`
/// names it in errors. Exposed so the tests can feed it hand-made pickles.
StateDict unpickle_state_dict(std::string_view data, const std::string& where, const StorageLoader& load);
}  // namespace pth_detail

}  // namespace fastai
