// ImageCreate / MaskCreate and the vision blocks.
#include "fastai/vision/data.h"

#include "fastai/vision/augment.h"

#include "fastai/core/error.h"
#include "fastai/core/transforms.h"

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string_view>

namespace fastai::vision_data_detail {

std::atomic<int> lazy_decode{-1};  // -1: not read from the environment yet

std::string bytes_name(const std::vector<uint8_t>& b) {
  std::string s = "<encoded bytes, ";
  s += std::to_string(b.size());
  s += " bytes>";
  return s;
}

// Runs f; a fastai::Error from it gets `who` in front (the decoders' messages already name the file).
template <class F>
auto with_context(const char* who, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Error& e) {
    std::string_view m = e.what();
    if (m.rfind("fastai: ", 0) == 0) m.remove_prefix(8);
    fail(who, ": ", m);
  }
}

[[noreturn]] void bad_item(const char* who, const Item& x, const char* wants) {
  fail(who, ": cannot make ", wants, " from an item of type ", x.type_name(),
       " (expected a file path, a std::string path, encoded bytes (std::vector<uint8_t>) or a uint8 tensor); "
       "check the block's getter (get_x / get_y)");
}

}  // namespace fastai::vision_data_detail

namespace fastai {

void set_lazy_image_decode(bool on) { vision_data_detail::lazy_decode.store(on ? 1 : 0); }

bool lazy_image_decode() {
  int v = vision_data_detail::lazy_decode.load(std::memory_order_relaxed);
  if (v < 0) {
    const char* e = std::getenv("FASTAI_LAZY_DECODE");
    v = (e && std::string_view(e) == "0") ? 0 : 1;
    int expected = -1;
    vision_data_detail::lazy_decode.compare_exchange_strong(expected, v);
    v = vision_data_detail::lazy_decode.load();
  }
  return v == 1;
}

// ---- ImageCreate ------------------------------------------------------------------------------

ImageCreate::ImageCreate(ImageMode mode) : Transform("ImageCreate"), mode_(mode) {
  register_vision_transforms();
  auto make = [](const Transform& self, auto&& load) -> Item {
    const ImageMode m = static_cast<const ImageCreate&>(self).mode_;
    at::Tensor t = vision_data_detail::with_context("ImageCreate", [&] { return load(m).data; });
    if (m == ImageMode::L) return TensorImageBW(std::move(t));
    return TensorImage(std::move(t));
  };
  // A JPEG file stays encoded (EncodedImage) when lazy decoding is on: the first item transform
  // decodes what it needs. Reading the file here keeps "file missing" errors at ImageCreate.
  auto from_file = [make](const Transform& self, const std::filesystem::path& p) -> Item {
    const ImageMode m = static_cast<const ImageCreate&>(self).mode_;
    if (m == ImageMode::L || !lazy_image_decode()) return make(self, [&](ImageMode md) { return load_image(p, md); });
    auto bytes = vision_data_detail::with_context("ImageCreate", [&] {
      return std::make_shared<const std::vector<uint8_t>>(read_image_bytes(p));
    });
    std::string nm = p.string();
    if (auto e = encoded_jpeg(bytes, nm, m)) return Item::make<EncodedImage>(std::move(*e));
    return make(self, [&](ImageMode md) { return decode_image(bytes->data(), bytes->size(), nm, md); });
  };
  encodes<std::filesystem::path>(from_file);
  encodes<std::string>([from_file](const Transform& self, const std::string& p) {
    return from_file(self, std::filesystem::path(p));
  });
  encodes<std::vector<uint8_t>>([make](const Transform& self, const std::vector<uint8_t>& b) -> Item {
    const ImageMode m = static_cast<const ImageCreate&>(self).mode_;
    if (m != ImageMode::L && lazy_image_decode())
      if (auto e = encoded_jpeg(std::make_shared<const std::vector<uint8_t>>(b), vision_data_detail::bytes_name(b), m))
        return Item::make<EncodedImage>(std::move(*e));
    return make(self, [&](ImageMode md) { return decode_image(b.data(), b.size(), vision_data_detail::bytes_name(b), md); });
  });
  encodes<at::Tensor>([](const Transform& self, const at::Tensor& t) -> Item {
    const ImageMode m = static_cast<const ImageCreate&>(self).mode_;
    FA_CHECK(t.scalar_type() == at::kByte && (t.dim() == 2 || t.dim() == 3), "ImageCreate: expected a uint8 tensor ",
             "[C,H,W] or [H,W], got shape ", t.sizes(), " ", c10::toString(t.scalar_type()));
    at::Tensor x = t.dim() == 2 ? t.unsqueeze(0) : t;
    const int64_t want = m == ImageMode::L ? 1 : m == ImageMode::RGB ? 3 : x.size(0);
    FA_CHECK(x.size(0) == want, "ImageCreate(", to_string(m), "): expected a tensor with ", want,
             " channel(s), got shape ", t.sizes());
    if (m == ImageMode::L) return TensorImageBW(x);
    return TensorImage(x);
  });
}

Item ImageCreate::encodes_item(const Item& x) const {
  if (x.type() == typeid(EncodedImage) || x.is<TensorImage>()) return x;  // already an image: the same item
  if (!x.empty() && !has_encodes(x.type())) vision_data_detail::bad_item("ImageCreate", x, "an image");
  return Transform::encodes_item(x);
}

nlohmann::json ImageCreate::state() const { return {{"mode", to_string(mode_)}}; }
void ImageCreate::load_state(const nlohmann::json& s) {
  if (s.contains("mode")) mode_ = image_mode_from_string(s.at("mode").get<std::string>());
}

// ---- MaskCreate -------------------------------------------------------------------------------

MaskCreate::MaskCreate(std::vector<std::string> codes) : Transform("MaskCreate"), codes_(std::move(codes)) {
  register_vision_transforms();
  auto load = [](const std::filesystem::path& p) {
    return vision_data_detail::with_context("MaskCreate", [&] { return load_mask(p); });
  };
  encodes<std::filesystem::path>(load);
  encodes<std::string>([load](const std::string& p) { return load(p); });
  encodes<std::vector<uint8_t>>([](const std::vector<uint8_t>& b) {
    return vision_data_detail::with_context(
        "MaskCreate", [&] { return decode_mask(b.data(), b.size(), vision_data_detail::bytes_name(b)); });
  });
  encodes<at::Tensor>([](const at::Tensor& t) {
    FA_CHECK(t.dim() == 2 && !at::isFloatingType(t.scalar_type()) && !t.is_complex(),
             "MaskCreate: expected an integer tensor [H,W] of class indices, got shape ", t.sizes(), " ",
             c10::toString(t.scalar_type()));
    return TensorMask(t.to(at::kLong));
  });
}

Item MaskCreate::encodes_item(const Item& x) const {
  if (x.is<TensorMask>()) return x;
  if (!x.empty() && !has_encodes(x.type())) vision_data_detail::bad_item("MaskCreate", x, "a mask");
  Item r = Transform::encodes_item(x);
  // With codes, a mask value past them would only fail later, inside the loss, far from the file.
  if (!codes_.empty() && r.is<TensorMask>()) {
    const at::Tensor& m = r.get<TensorMask>().data;
    const auto n = static_cast<int64_t>(codes_.size());
    if (m.numel() > 0) {
      const int64_t mx = m.max().item<int64_t>();
      if (mx >= n) {
        std::string what = x.is<std::filesystem::path>() ? x.get<std::filesystem::path>().string()
                           : x.is<std::string>()         ? x.get<std::string>()
                                                          : describe(x);
        fail("MaskBlock: the mask ", what, " holds the value ", mx, " but there are only ", n, " codes (values 0..",
             n - 1, ")");
      }
    }
  }
  return r;
}

std::optional<int64_t> MaskCreate::c() const {
  if (codes_.empty()) return std::nullopt;
  return static_cast<int64_t>(codes_.size());
}
std::optional<LossHint> MaskCreate::loss_hint() const { return LossHint{"CrossEntropyLossFlat", {{"axis", 1}}}; }
nlohmann::json MaskCreate::state() const { return {{"codes", codes_}}; }
void MaskCreate::load_state(const nlohmann::json& s) {
  codes_ = s.value("codes", std::vector<std::string>{});
}

// ---- blocks -----------------------------------------------------------------------------------

TransformBlock ImageBlock(ImageMode mode) {
  return TransformBlock{.type_tfms = {std::make_shared<ImageCreate>(mode)},
                        .batch_tfms = {std::make_shared<IntToFloatTensor>()},
                        .name = "ImageBlock"};
}

TransformBlock MaskBlock(std::vector<std::string> codes) {
  return TransformBlock{.type_tfms = {std::make_shared<MaskCreate>(std::move(codes))},
                        .batch_tfms = {std::make_shared<IntToFloatTensor>()},
                        .name = "MaskBlock"};
}

void register_vision_transforms() {
  static std::once_flag once;
  std::call_once(once, [] {
    register_transform<ImageCreate>("ImageCreate");
    register_transform<MaskCreate>("MaskCreate");
  });
  register_augment_transforms();  // Resize, RandomResizedCrop, ... (idempotent)
}

namespace vision_data_detail {
// Registered when a program links this file, so load_learner finds the vision transforms.
[[maybe_unused]] const bool registered = (register_vision_transforms(), true);
}  // namespace vision_data_detail

}  // namespace fastai
