// IDX files (the MNIST / Fashion-MNIST format) and the Fashion-MNIST data set.
#pragma once
#include <ATen/core/Tensor.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace fastai {

/// Reads an IDX file into a CPU tensor of its stored type and shape.
///
/// Format: magic = two zero bytes, a type byte (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
/// 0x0D float32, 0x0E float64) and the number of dimensions; then one big-endian uint32 per
/// dimension; then the big-endian data (e.g. 0x00000803: uint8, 3 dims).
/// The file may be gzip'd (recognised by its 1f 8b magic, whatever its name) or raw.
/// Throws fastai::Error naming the file for: a missing / unreadable file, a bad magic, an
/// unsupported type byte, a truncated header or data ("expected N bytes, got M"), trailing bytes
/// after the data, or corrupt gzip data.
at::Tensor read_idx(const std::filesystem::path& file);

/// Fashion-MNIST (Zalando): 60000 train + 10000 test 28x28 grey-scale images in 10 classes.
/// The test split is the validation set, as in fastai's untar_data(URLs.FASHION_MNIST) setups.
struct FashionMNIST {
  at::Tensor train_x, train_y;  ///< uint8 [60000, 28, 28], int64 [60000]
  at::Tensor valid_x, valid_y;  ///< uint8 [10000, 28, 28], int64 [10000]
  /// Class names, indexed by label (0 "T-shirt/top" ... 9 "Ankle boot").
  static const std::vector<std::string> classes;
};

/// The folder load_fashion_mnist("") reads: the registry folder data_dir() / "fashion_mnist"
/// ($FASTAI_HOME/data/fashion_mnist, default ~/.fastai-cpp/data/fashion_mnist; scripts/setup.sh
/// fills it with links to Debian's files) when it exists, else /usr/share/datasets/fashion-mnist
/// (Debian package dataset-fashion-mnist).
std::filesystem::path default_fashion_mnist_dir();

/// Loads Fashion-MNIST from `dir` ("" = default_fashion_mnist_dir()): the files
/// train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and
/// t10k-labels-idx1-ubyte, each with or without a .gz suffix (the .gz one is tried first).
/// A missing folder or file is an Error naming the file and the install command
/// (`sudo apt-get install dataset-fashion-mnist`, or `bash scripts/setup.sh`). Also checks that
/// images are uint8 [N, 28, 28], labels uint8 [N] in 0..9, and that each pair of files holds the
/// same number of items (else Error naming both files).
FashionMNIST load_fashion_mnist(std::filesystem::path dir = "");

/// Model-ready tensors from raw images and labels: x uint8 [N, H, W] (or [N, C, H, W]) becomes
/// float32 [N, 1, H, W] (resp. [N, C, H, W]) scaled to [0, 1] (x / 255), y becomes int64 [N].
/// Neither input is modified. Error when x is not uint8 or its rank is not 3 or 4, or when y's
/// length differs from N.
std::pair<at::Tensor, at::Tensor> fashion_mnist_to_float(const at::Tensor& x, const at::Tensor& y);

}  // namespace fastai
