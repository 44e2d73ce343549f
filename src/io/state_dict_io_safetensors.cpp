// safetensors: an 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets: [begin, end)}, "__metadata__": {...}}, then the data.
#include "fastai/core/error.h"
#include "fastai/core/files.h"
#include "fastai/io/state_dict_io.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <bit>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

namespace fastai::safetensors_detail {

struct StDType {
  const char* name;
  at::ScalarType type;
};
inline constexpr StDType st_dtypes[] = {{"F32", at::kFloat}, {"F64", at::kDouble}, {"F16", at::kHalf},
                                        {"BF16", at::kBFloat16}, {"I64", at::kLong}, {"I32", at::kInt},
                                        {"I16", at::kShort}, {"I8", at::kChar}, {"U8", at::kByte},
                                        {"BOOL", at::kBool}};

inline at::ScalarType st_dtype(const std::string& s) {
  for (const auto& d : st_dtypes)
    if (s == d.name) return d.type;
  return at::ScalarType::Undefined;
}

inline const char* st_dtype_name(at::ScalarType t) {
  for (const auto& d : st_dtypes)
    if (t == d.type) return d.name;
  return nullptr;
}

}  // namespace fastai::safetensors_detail

namespace fastai {

StateDict load_safetensors(const std::filesystem::path& file) {
  using namespace safetensors_detail;
  static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");
  const std::string where = "load_safetensors: " + quote_value(file.string(), 200);
  FA_CHECK(std::filesystem::is_regular_file(file), where, ": no such file");
  std::ifstream in(file, std::ios::binary);
  FA_CHECK(in, where, ": cannot open the file");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  FA_CHECK(bytes.size() >= 8, where, ": ", bytes.size(), " bytes, shorter than the 8-byte header length");
  uint64_t hlen = 0;
  for (int k = 7; k >= 0; --k) hlen = (hlen << 8) | static_cast<unsigned char>(bytes[size_t(k)]);
  FA_CHECK(hlen <= bytes.size() - 8, where, ": header length ", hlen, " but only ", bytes.size() - 8,
           " bytes follow (truncated, or not a safetensors file)");
  nlohmann::ordered_json header;
  try {
    header = nlohmann::ordered_json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(hlen));
  } catch (const nlohmann::json::exception& e) {
    fail(where, ": the header is not JSON: ", e.what());
  }
  FA_CHECK(header.is_object(), where, ": the header is ", header.type_name(), ", expected a JSON object");
  const char* data = bytes.data() + 8 + hlen;
  const uint64_t data_size = bytes.size() - 8 - hlen;
  StateDict r;
  for (const auto& [name, e] : header.items()) {
    if (name == "__metadata__") continue;
    const std::string at_ = where + ": tensor '" + name + "'";
    FA_CHECK(e.is_object() && e.contains("dtype") && e.contains("shape") && e.contains("data_offsets"), at_,
             ": expected {dtype, shape, data_offsets}, found ", quote_value(e.dump(), 80));
    FA_CHECK(e["dtype"].is_string(), at_, ": dtype is not a string");
    const at::ScalarType dtype = st_dtype(e["dtype"].get<std::string>());
    FA_CHECK(dtype != at::ScalarType::Undefined, at_, ": unsupported dtype ", quote_value(e["dtype"].get<std::string>()),
             " (expected F32 F64 F16 BF16 I64 I32 I16 I8 U8 BOOL)");
    const auto& sh = e["shape"];
    FA_CHECK(sh.is_array(), at_, ": shape is not a list");
    std::vector<int64_t> shape;
    uint64_t numel = 1;
    for (const auto& d : sh) {
      FA_CHECK(d.is_number_unsigned(), at_, ": shape ", sh.dump(), " has a value that is not a size");
      shape.push_back(d.get<int64_t>());
      numel *= d.get<uint64_t>();
    }
    const auto& off = e["data_offsets"];
    FA_CHECK(off.is_array() && off.size() == 2 && off[0].is_number_unsigned() && off[1].is_number_unsigned(), at_,
             ": data_offsets ", off.dump(), ", expected [begin, end]");
    const auto b = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    FA_CHECK(b <= end && end <= data_size, at_, ": data_offsets ", off.dump(), " outside the ", data_size,
             " bytes of data (truncated?)");
    const uint64_t need = numel * c10::elementSize(dtype);
    FA_CHECK(end - b == need, at_, ": ", end - b, " bytes of data for shape ", sh.dump(), " of ",
             e["dtype"].get<std::string>(), ", expected ", need);
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
    if (need) std::memcpy(t.data_ptr(), data + b, need);
    r.emplace_back(name, std::move(t));
  }
  return r;
}

void save_safetensors(const StateDict& sd, const std::filesystem::path& file) {
  using namespace safetensors_detail;
  nlohmann::ordered_json header;
  header["__metadata__"] = {{"format", "pt"}};
  std::vector<at::Tensor> ts;
  uint64_t off = 0;
  for (const auto& [name, t0] : sd) {
    FA_CHECK(t0.defined(), "save_safetensors: tensor '", name, "' is undefined");
    const char* dt = st_dtype_name(t0.scalar_type());
    FA_CHECK(dt, "save_safetensors: tensor '", name, "' has dtype ", t0.scalar_type(),
             ", expected one of F32 F64 F16 BF16 I64 I32 I16 I8 U8 BOOL");
    FA_CHECK(!header.contains(name), "save_safetensors: the name '", name, "' is used twice");
    at::Tensor t = t0.detach().to(at::kCPU).contiguous();
    const uint64_t n = static_cast<uint64_t>(t.numel()) * t.element_size();
    header[name] = {{"dtype", dt}, {"shape", t.sizes().vec()}, {"data_offsets", {off, off + n}}};
    off += n;
    ts.push_back(std::move(t));
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');  // the data starts 8-byte aligned, as the Rust writer does
  atomic_write(file, [&](const std::filesystem::path& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    char len[8];
    for (int k = 0; k < 8; ++k) len[k] = static_cast<char>((uint64_t(h.size()) >> (8 * k)) & 0xff);
    out.write(len, 8);
    out.write(h.data(), static_cast<std::streamsize>(h.size()));
    for (const auto& t : ts)
      out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.numel() * t.element_size()));
    FA_CHECK(out.good(), "save_safetensors: cannot write ", quote_value(tmp.string(), 200));
  });
}

}  // namespace fastai
