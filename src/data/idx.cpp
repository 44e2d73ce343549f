#include "fastai/data/idx.h"

#include "fastai/core/error.h"
#include "fastai/data/external.h"

#include <ATen/ATen.h>
#include <zlib.h>

#include <array>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <system_error>
#include <tuple>

namespace fastai {

namespace idx_detail {

namespace fs = std::filesystem;

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzPtr = std::unique_ptr<gzFile_s, GzCloser>;

struct TypeInfo {
  at::ScalarType dtype;
  int64_t size;
  const char* name;
};

bool type_info(uint8_t code, TypeInfo& out) {
  switch (code) {
    case 0x08: out = {at::kByte, 1, "uint8"}; return true;
    case 0x09: out = {at::kChar, 1, "int8"}; return true;
    case 0x0B: out = {at::kShort, 2, "int16"}; return true;
    case 0x0C: out = {at::kInt, 4, "int32"}; return true;
    case 0x0D: out = {at::kFloat, 4, "float32"}; return true;
    case 0x0E: out = {at::kDouble, 8, "float64"}; return true;
    default: return false;
  }
}

std::string hex(uint64_t v, int digits) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%0*llx", digits, static_cast<unsigned long long>(v));
  return buf;
}

// The message of the last zlib error on `f` (empty when none, or just end of file).
std::string gz_error(gzFile f) {
  int errnum = Z_OK;
  const char* msg = gzerror(f, &errnum);
  if (errnum == Z_OK) return {};
  if (errnum == Z_ERRNO) return std::strerror(errno);
  return msg ? msg : "zlib error";
}

// Reads up to `n` bytes; returns how many it got. Throws on a zlib error other than a short read.
int64_t read_some(gzFile f, const fs::path& file, void* dst, int64_t n) {
  auto* p = static_cast<unsigned char*>(dst);
  int64_t got = 0;
  constexpr int64_t kChunk = int64_t{1} << 30;
  while (got < n) {
    const auto want = static_cast<unsigned>(std::min(n - got, kChunk));
    const int r = gzread(f, p + got, want);
    if (r < 0) fail("read_idx: ", file, ": cannot read (corrupt gzip data?): ", gz_error(f));
    if (r == 0) break;
    got += r;
  }
  return got;
}

void byteswap_inplace(void* data, int64_t count, int64_t size) {
  if constexpr (std::endian::native == std::endian::big) return;
  switch (size) {
    case 2: {
      auto* p = static_cast<uint16_t*>(data);
      for (int64_t i = 0; i < count; ++i) p[i] = __builtin_bswap16(p[i]);
      break;
    }
    case 4: {
      auto* p = static_cast<uint32_t*>(data);
      for (int64_t i = 0; i < count; ++i) p[i] = __builtin_bswap32(p[i]);
      break;
    }
    case 8: {
      auto* p = static_cast<uint64_t*>(data);
      for (int64_t i = 0; i < count; ++i) p[i] = __builtin_bswap64(p[i]);
      break;
    }
    default: break;
  }
}

const char* const kInstall =
    "install the data set with `sudo apt-get install dataset-fashion-mnist` (or `bash scripts/setup.sh`), "
    "or pass the folder that holds the files to load_fashion_mnist";

// dir/name.gz, else dir/name; Error naming the file and the install command when neither exists.
fs::path find_file(const fs::path& dir, const std::string& name) {
  std::error_code ec;
  const fs::path gz = dir / (name + ".gz");
  if (fs::is_regular_file(gz, ec)) return gz;
  const fs::path raw = dir / name;
  if (fs::is_regular_file(raw, ec)) return raw;
  if (!fs::is_directory(dir, ec))
    fail("Fashion-MNIST: folder ", dir, " does not exist, so ", gz, " is missing; ", kInstall);
  fail("Fashion-MNIST: file ", gz, " (or ", raw, ") is missing; ", kInstall);
}

// Reads an images file and a labels file and checks they agree; labels come back int64.
std::pair<at::Tensor, at::Tensor> load_split(const fs::path& dir, const std::string& images, const std::string& labels) {
  const fs::path fx = find_file(dir, images);
  const fs::path fy = find_file(dir, labels);
  at::Tensor x = read_idx(fx);
  at::Tensor y = read_idx(fy);
  FA_CHECK(x.scalar_type() == at::kByte && x.dim() == 3 && x.size(1) == 28 && x.size(2) == 28,
           "Fashion-MNIST: ", fx, " should hold uint8 images [N, 28, 28], got ", x.scalar_type(), " ", x.sizes());
  FA_CHECK(y.scalar_type() == at::kByte && y.dim() == 1, "Fashion-MNIST: ", fy,
           " should hold uint8 labels [N], got ", y.scalar_type(), " ", y.sizes());
  FA_CHECK(x.size(0) == y.size(0), "Fashion-MNIST: ", fx, " holds ", x.size(0), " images but ", fy, " holds ",
           y.size(0), " labels; the counts must match");
  if (y.numel() > 0) {
    const int64_t mx = y.max().item<int64_t>();
    FA_CHECK(mx < static_cast<int64_t>(FashionMNIST::classes.size()), "Fashion-MNIST: ", fy, " has label ", mx,
             "; labels must be in 0..", FashionMNIST::classes.size() - 1);
  }
  return {x, y.to(at::kLong)};
}

}  // namespace idx_detail

at::Tensor read_idx(const std::filesystem::path& file) {
  namespace fs = std::filesystem;
  std::error_code ec;
  FA_CHECK(fs::exists(file, ec), "read_idx: ", file, " does not exist");
  FA_CHECK(!fs::is_directory(file, ec), "read_idx: ", file, " is a folder, not an IDX file");

  idx_detail::GzPtr f(gzopen(file.c_str(), "rb"));
  if (!f) fail("read_idx: cannot open ", file, ": ", std::strerror(errno));
  gzbuffer(f.get(), 1 << 18);

  std::array<unsigned char, 4> magic{};
  int64_t got = idx_detail::read_some(f.get(), file, magic.data(), 4);
  FA_CHECK(got == 4, "read_idx: ", file, ": truncated header: expected 4 bytes of magic number, got ", got);
  const uint64_t m = (uint64_t{magic[0]} << 24) | (uint64_t{magic[1]} << 16) | (uint64_t{magic[2]} << 8) | magic[3];
  FA_CHECK(magic[0] == 0 && magic[1] == 0, "read_idx: ", file, ": bad magic number ", idx_detail::hex(m, 8),
           " (an IDX file starts with 0x0000TTDD: two zero bytes, type byte TT, number of dimensions DD)");
  idx_detail::TypeInfo ti{};
  FA_CHECK(idx_detail::type_info(magic[2], ti), "read_idx: ", file, ": unsupported data type byte ",
           idx_detail::hex(magic[2], 2), " in magic number ", idx_detail::hex(m, 8),
           " (supported: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64)");
  const int ndim = magic[3];
  FA_CHECK(ndim > 0, "read_idx: ", file, ": magic number ", idx_detail::hex(m, 8), " declares 0 dimensions");

  std::vector<unsigned char> hdr(static_cast<size_t>(ndim) * 4);
  got = idx_detail::read_some(f.get(), file, hdr.data(), static_cast<int64_t>(hdr.size()));
  FA_CHECK(got == static_cast<int64_t>(hdr.size()), "read_idx: ", file, ": truncated header: expected ",
           hdr.size(), " bytes of dimension sizes (", ndim, " dims), got ", got);
  std::vector<int64_t> dims(static_cast<size_t>(ndim));
  int64_t numel = 1;
  bool overflow = false;
  for (int d = 0; d < ndim; ++d) {
    const unsigned char* p = hdr.data() + 4 * d;
    dims[d] = (int64_t{p[0]} << 24) | (int64_t{p[1]} << 16) | (int64_t{p[2]} << 8) | int64_t{p[3]};
    if (dims[d] != 0 && numel > std::numeric_limits<int64_t>::max() / ti.size / dims[d]) overflow = true;
    else numel *= dims[d];
  }
  FA_CHECK(!overflow, "read_idx: ", file, ": dimension sizes ", at::IntArrayRef(dims), " overflow 64 bits");
  const int64_t nbytes = numel * ti.size;
  const int64_t header = 4 + 4 * int64_t{ndim};

  // A raw file's size is known: check it before allocating what a corrupt header might claim.
  if (gzdirect(f.get())) {
    const auto fsize = static_cast<int64_t>(fs::file_size(file, ec));
    if (!ec)
      FA_CHECK(fsize >= header + nbytes, "read_idx: ", file, ": truncated data: expected ", nbytes, " bytes (",
               ti.name, " ", at::IntArrayRef(dims), ") after the ", header, "-byte header, got ", fsize - header);
  }

  at::Tensor t;
  try {
    t = at::empty(dims, at::TensorOptions().dtype(ti.dtype));
  } catch (const std::exception& e) {
    fail("read_idx: ", file, ": cannot allocate ", nbytes, " bytes for ", ti.name, " ", at::IntArrayRef(dims), ": ",
         e.what());
  }
  void* data = t.data_ptr();
  got = idx_detail::read_some(f.get(), file, data, nbytes);
  if (got < nbytes) {
    const std::string z = idx_detail::gz_error(f.get());
    fail("read_idx: ", file, ": truncated data: expected ", nbytes, " bytes (", ti.name, " ", at::IntArrayRef(dims),
         ") after the ", header, "-byte header, got ", got, z.empty() ? "" : " (zlib: " + z + ")");
  }
  unsigned char extra[1];
  FA_CHECK(idx_detail::read_some(f.get(), file, extra, 1) == 0, "read_idx: ", file, ": unexpected bytes after the ",
           nbytes, " bytes of data that the header (", ti.name, " ", at::IntArrayRef(dims), ") declares");
  idx_detail::byteswap_inplace(data, numel, ti.size);
  return t;
}

// ---- Fashion-MNIST ------------------------------------------------------------------------

const std::vector<std::string> FashionMNIST::classes = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                        "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

std::filesystem::path default_fashion_mnist_dir() {
  std::error_code ec;
  std::filesystem::path home = data_dir() / URLs::FASHION_MNIST;  // the registry folder (scripts/setup.sh)
  if (std::filesystem::is_directory(home, ec)) return home;
  return "/usr/share/datasets/fashion-mnist";
}

FashionMNIST load_fashion_mnist(std::filesystem::path dir) {
  if (dir.empty()) dir = default_fashion_mnist_dir();
  FashionMNIST r;
  std::tie(r.train_x, r.train_y) = idx_detail::load_split(dir, "train-images-idx3-ubyte", "train-labels-idx1-ubyte");
  std::tie(r.valid_x, r.valid_y) = idx_detail::load_split(dir, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte");
  return r;
}

std::pair<at::Tensor, at::Tensor> fashion_mnist_to_float(const at::Tensor& x, const at::Tensor& y) {
  FA_CHECK(x.defined() && y.defined(), "fashion_mnist_to_float: undefined tensor");
  FA_CHECK(x.scalar_type() == at::kByte, "fashion_mnist_to_float: images must be uint8, got ", x.scalar_type());
  FA_CHECK(x.dim() == 3 || x.dim() == 4, "fashion_mnist_to_float: images must be [N, H, W] or [N, C, H, W], got ",
           x.sizes());
  FA_CHECK(y.dim() == 1 && y.size(0) == x.size(0), "fashion_mnist_to_float: labels must be [", x.size(0),
           "] to match the images ", x.sizes(), ", got ", y.sizes());
  at::Tensor xf = (x.dim() == 3 ? x.unsqueeze(1) : x).to(at::kFloat).div_(255.0);
  return {xf, y.to(at::kLong)};
}

}  // namespace fastai
