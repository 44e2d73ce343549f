// load_pth: the zip container through LibTorch's own reader (caffe2::serialize::
// PyTorchStreamReader, the one torch::jit::load uses), the pickle through pth_detail.
#include "fastai/core/error.h"
#include "fastai/io/state_dict_io.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <caffe2/serialize/inline_container.h>

#include <bit>
#include <cstring>
#include <fstream>
#include <string>

namespace fastai::pth_detail {

/// The first line of a LibTorch error (its message without the C++ backtrace).
inline std::string pth_first_line(const c10::Error& e) {
  std::string s = e.what_without_backtrace();
  const auto nl = s.find('\n');
  return nl == std::string::npos ? s : s.substr(0, nl);
}

/// Fails unless `file` starts like a zip archive, saying what it looks like instead.
inline void pth_check_zip_magic(const std::filesystem::path& file, const std::string& where) {
  std::ifstream in(file, std::ios::binary);
  FA_CHECK(in, where, ": cannot open the file");
  char m[4] = {0, 0, 0, 0};
  in.read(m, 4);
  const auto got = in.gcount();
  FA_CHECK(got > 0, where, ": the file is empty (expected a zip archive written by torch.save)");
  if (got == 4 && std::memcmp(m, "PK\x03\x04", 4) == 0) return;
  if (static_cast<unsigned char>(m[0]) == 0x80)
    fail(where, ": a bare pickle, PyTorch's legacy (pre-1.6 or _use_new_zipfile_serialization=False) format; "
                "expected the zip format: re-save it with torch.save(obj, f) from torch >= 1.6");
  fail(where, ": not a zip archive (expected the zip format torch.save writes; the first bytes are not 'PK\\3\\4')");
}

}  // namespace fastai::pth_detail

namespace fastai {

StateDict load_pth(const std::filesystem::path& file) {
  const std::string where = "load_pth: " + quote_value(file.string(), 200);
  FA_CHECK(std::filesystem::exists(file), where, ": no such file");
  FA_CHECK(!std::filesystem::is_directory(file), where, ": a directory, expected a .pth file");
  static_assert(std::endian::native == std::endian::little, "load_pth copies little-endian data as it is");
  pth_detail::pth_check_zip_magic(file, where);
  try {
    caffe2::serialize::PyTorchStreamReader reader(file.string());
    FA_CHECK(reader.hasRecord("data.pkl"), where, ": the archive has no data.pkl (a TorchScript or other zip?)");
    if (reader.hasRecord("byteorder")) {
      auto [bo, n] = reader.getRecord("byteorder");
      const std::string order(static_cast<const char*>(bo.get()), n);
      FA_CHECK(order == "little", where, ": byteorder '", order, "', expected 'little'");
    }
    auto [pkl, pkl_size] = reader.getRecord("data.pkl");
    const std::string_view data(static_cast<const char*>(pkl.get()), pkl_size);
    auto load = [&](const std::string& key, at::ScalarType dtype) {
      const std::string name = "data/" + key;
      FA_CHECK(reader.hasRecord(name), where, ": the pickle names storage '", key, "' but the archive has no '",
               name, "'");
      auto [ptr, bytes] = reader.getRecord(name);
      const size_t elem = c10::elementSize(dtype);
      at::Tensor t = at::empty({static_cast<int64_t>(bytes / elem)}, at::TensorOptions().dtype(dtype));
      if (t.numel() > 0) std::memcpy(t.data_ptr(), ptr.get(), static_cast<size_t>(t.numel()) * elem);
      return t;
    };
    return pth_detail::unpickle_state_dict(data, where + ": data.pkl", load);
  } catch (const c10::Error& e) {
    fail(where, ": not a readable PyTorch zip archive (truncated or corrupt?): ", pth_detail::pth_first_line(e));
  }
}

}  // namespace fastai
