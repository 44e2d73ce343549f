// Image files: reading bytes, telling the format, the row converter shared by the codecs, saving
// and header-only sizes. The codecs themselves are in png_io.cpp and jpeg_io.cpp.
#include "fastai/vision/image.h"

#include "codec.h"
#include "fastai/core/error.h"
#include "fastai/core/files.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fastai::image_io_detail {

constexpr uint8_t kPngMagic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

// Closes a POSIX file descriptor on every path out.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::string display(const std::filesystem::path& p) { return detail::cat(p); }

// Up to `limit` bytes of the file (all of it when limit is 0). Errors name the file.
std::vector<uint8_t> read_bytes(const std::filesystem::path& file, size_t limit) {
  Fd f;
  f.fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0) {
    const int e = errno;
    FA_CHECK(e != ENOENT, "image file ", display(file), " does not exist");
    fail("cannot open image file ", display(file), ": ", std::strerror(e));
  }
  struct stat st {};
  FA_CHECK(::fstat(f.fd, &st) == 0, "cannot read image file ", display(file), ": ", std::strerror(errno));
  FA_CHECK(!S_ISDIR(st.st_mode), "image file ", display(file), " is a folder, not an image");
  FA_CHECK(S_ISREG(st.st_mode), "image file ", display(file), " is not a regular file");
  FA_CHECK(st.st_size > 0, "image file ", display(file), " is empty (0 bytes)");
  size_t want = static_cast<size_t>(st.st_size);
  if (limit && limit < want) want = limit;
  std::vector<uint8_t> buf(want);
  size_t got = 0;
  while (got < want) {
    const ssize_t r = ::read(f.fd, buf.data() + got, want - got);
    if (r < 0 && errno == EINTR) continue;
    FA_CHECK(r >= 0, "cannot read image file ", display(file), ": ", std::strerror(errno));
    if (r == 0) break;  // the file shrank meanwhile: the decoder reports it as truncated
    got += static_cast<size_t>(r);
  }
  buf.resize(got);
  return buf;
}

// What a non-image looks like, for the error message.
std::string what_it_is(const uint8_t* d, size_t n) {
  auto starts = [&](const char* m, size_t at = 0) {
    const size_t k = std::strlen(m);
    return n >= at + k && std::memcmp(d + at, m, k) == 0;
  };
  if (starts("GIF8")) return "a GIF image";
  if (starts("BM")) return "a BMP image";
  if (starts("RIFF") && starts("WEBP", 8)) return "a WebP image";
  if (n >= 4 && ((d[0] == 'I' && d[1] == 'I' && d[2] == 42 && d[3] == 0) || (d[0] == 'M' && d[1] == 'M' && d[2] == 0 && d[3] == 42)))
    return "a TIFF image";
  std::string hex;
  char b[4];
  for (size_t i = 0; i < n && i < 8; ++i) {
    std::snprintf(b, sizeof b, "%02x ", d[i]);
    hex += b;
  }
  if (!hex.empty()) hex.pop_back();
  std::string r = "data starting with bytes ";
  r += hex;
  return r;
}

[[noreturn]] void not_an_image(const uint8_t* d, size_t n, const std::string& name) {
  fail(name, " is not a supported image: expected PNG or JPEG data (told by the first bytes, not the name), got ",
       what_it_is(d, n), "; supported formats: PNG, JPEG");
}

std::string shape_text(const at::Tensor& t) {
  std::string s = detail::cat(t.sizes());
  s += " ";
  s += std::string(c10::toString(t.scalar_type()));
  return s;
}

// img as a contiguous CPU uint8 [H,W,C] and its C. Error naming the shape otherwise.
std::pair<at::Tensor, int> to_hwc(const at::Tensor& img, const std::string& what) {
  FA_CHECK(img.defined(), "cannot save ", what, ": the tensor is undefined");
  FA_CHECK(img.scalar_type() == at::kByte, "cannot save ", what, ": expected a uint8 (Byte) tensor [C,H,W] or [H,W], got ",
           shape_text(img), " (convert a float image in 0..1 with (x * 255).round().to(torch::kByte))");
  FA_CHECK(img.dim() == 2 || (img.dim() == 3 && img.size(0) >= 1 && img.size(0) <= 4), "cannot save ", what,
           ": expected a uint8 tensor [C,H,W] with C 1, 3 or 4, or [H,W], got ", shape_text(img));
  FA_CHECK(img.numel() > 0, "cannot save ", what, ": the image is empty, shape ", shape_text(img));
  at::Tensor t = img.cpu();
  if (t.dim() == 2) return {t.contiguous().unsqueeze(2), 1};
  return {t.permute({1, 2, 0}).contiguous(), static_cast<int>(t.size(0))};
}

std::string lower_ext(const std::filesystem::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return e;
}

}  // namespace fastai::image_io_detail

namespace fastai {

namespace vision_codec {

int out_channels(int src_channels, ImageMode mode) {
  switch (mode) {
    case ImageMode::RGB: return 3;
    case ImageMode::L: return 1;
    case ImageMode::Unchanged: break;
  }
  return src_channels;
}

namespace deinterleave_detail {
// RGB(A) pixels -> three planes. Compiled twice, for AVX2 and for any x86-64 CPU, and picked at
// load time: GCC vectorizes this stride-3/4 de-interleave only with byte shuffles (SSSE3 / AVX2);
// as SSE2 scalar code it was a sixth of a JPEG pipeline's time.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
void deinterleave(const uint8_t* __restrict in, int sc, uint8_t* __restrict r, uint8_t* __restrict g,
                  uint8_t* __restrict b, int64_t w) noexcept {
  if (sc == 3) {
    for (int64_t x = 0; x < w; ++x) {
      r[x] = in[3 * x];
      g[x] = in[3 * x + 1];
      b[x] = in[3 * x + 2];
    }
  } else {
    for (int64_t x = 0; x < w; ++x) {
      r[x] = in[4 * x];
      g[x] = in[4 * x + 1];
      b[x] = in[4 * x + 2];
    }
  }
}
}  // namespace deinterleave_detail

void convert_row(const uint8_t* s, int sc, const Planes& d, int64_t y) noexcept {
  const int64_t w = d.w, plane = d.h * d.w;
  uint8_t* o = d.base + y * w;
  if (d.c == 1) {
    if (sc == 1) {
      std::memcpy(o, s, static_cast<size_t>(w));
    } else if (sc == 2) {
      for (int64_t x = 0; x < w; ++x) o[x] = s[2 * x];
    } else {  // PIL's L = R*299/1000 + G*587/1000 + B*114/1000, in its 16-bit fixed point
      for (int64_t x = 0; x < w; ++x) {
        const uint8_t* p = s + sc * x;
        o[x] = static_cast<uint8_t>((p[0] * 19595u + p[1] * 38470u + p[2] * 7471u + 0x8000u) >> 16);
      }
    }
  } else if (d.c == 3) {
    uint8_t *r = o, *g = o + plane, *b = o + 2 * plane;
    if (sc <= 2) {
      for (int64_t x = 0; x < w; ++x) r[x] = g[x] = b[x] = s[sc * x];
    } else {
      deinterleave_detail::deinterleave(s, sc, r, g, b, w);
    }
  } else {  // Unchanged with 2 or 4 channels: de-interleave
    for (int c = 0; c < d.c; ++c)
      for (int64_t x = 0; x < w; ++x) o[c * plane + x] = s[d.c * x + c];
  }
}

void cmyk_inverted_to_rgb(const uint8_t* s, uint8_t* rgb, int64_t w) noexcept {
  // Adobe stores CMYK inverted; PIL reads it as "CMYK;I" and converts with nk - c*nk/255.
  for (int64_t x = 0; x < w; ++x, s += 4, rgb += 3) {
    const int nk = s[3];
    for (int k = 0; k < 3; ++k) {
      const int c = 255 - s[k];
      const int t = c * nk + 128;
      const int v = nk - (((t >> 8) + t) >> 8);
      rgb[k] = static_cast<uint8_t>(v < 0 ? 0 : v);
    }
  }
}

std::string sniff_format(const uint8_t* d, size_t n) {
  if (n >= 8 && std::memcmp(d, image_io_detail::kPngMagic, 8) == 0) return "PNG";
  if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return "JPEG";
  return "";
}

}  // namespace vision_codec

std::string to_string(ImageMode m) {
  switch (m) {
    case ImageMode::RGB: return "RGB";
    case ImageMode::L: return "L";
    case ImageMode::Unchanged: return "Unchanged";
  }
  return "RGB";
}

ImageMode image_mode_from_string(std::string_view s) {
  if (s == "RGB" || s == "rgb") return ImageMode::RGB;
  if (s == "L" || s == "l") return ImageMode::L;
  if (s == "Unchanged" || s == "unchanged") return ImageMode::Unchanged;
  fail("unknown image mode ", quote_value(s), ": expected 'RGB', 'L' or 'Unchanged'");
}

TensorImage decode_image(const uint8_t* data, size_t n, std::string_view name, ImageMode mode) {
  const std::string nm(name);
  FA_CHECK(data && n > 0, "image ", nm, " is empty (0 bytes)");
  const std::string f = vision_codec::sniff_format(data, n);
  if (f == "PNG") return vision_codec::png_decode(data, n, nm, mode);
  if (f == "JPEG") return vision_codec::jpeg_decode(data, n, nm, mode);
  image_io_detail::not_an_image(data, n, nm);
}

TensorImage load_image(const std::filesystem::path& file, ImageMode mode) {
  const auto bytes = image_io_detail::read_bytes(file, 0);
  return decode_image(bytes.data(), bytes.size(), image_io_detail::display(file), mode);
}

TensorMask decode_mask(const uint8_t* data, size_t n, std::string_view name) {
  const std::string nm(name);
  FA_CHECK(data && n > 0, "mask ", nm, " is empty (0 bytes)");
  const std::string f = vision_codec::sniff_format(data, n);
  if (f == "PNG") return vision_codec::png_decode_mask(data, n, nm);
  if (f == "JPEG") {
    at::Tensor t = vision_codec::jpeg_decode(data, n, nm, ImageMode::Unchanged).data;
    FA_CHECK(t.size(0) == 1, "mask ", nm, " is a colour JPEG; a mask must be one channel of class indices "
             "(and lossless: save masks as PNG)");
    return TensorMask(t[0].to(at::kLong));
  }
  image_io_detail::not_an_image(data, n, nm);
}

TensorMask load_mask(const std::filesystem::path& file) {
  const auto bytes = image_io_detail::read_bytes(file, 0);
  return decode_mask(bytes.data(), bytes.size(), image_io_detail::display(file));
}

std::vector<uint8_t> encode_image(const at::Tensor& img, std::string_view format, int jpeg_quality) {
  std::string what = "image of shape ";
  if (img.defined()) what += image_io_detail::shape_text(img);
  const bool png = format == "png" || format == "PNG";
  const bool jpeg = format == "jpeg" || format == "jpg" || format == "JPEG" || format == "JPG";
  FA_CHECK(png || jpeg, "encode_image: unknown format ", quote_value(format), ": expected 'png' or 'jpeg'");
  auto [hwc, c] = image_io_detail::to_hwc(img, what);
  const uint8_t* p = hwc.data_ptr<uint8_t>();
  if (png) return vision_codec::png_encode(p, hwc.size(0), hwc.size(1), c, what);
  return vision_codec::jpeg_encode(p, hwc.size(0), hwc.size(1), c, jpeg_quality, what);
}

void save_image(const std::filesystem::path& file, const at::Tensor& img, int jpeg_quality) {
  const std::string ext = image_io_detail::lower_ext(file);
  const std::string fmt = ext == ".png" ? "png" : (ext == ".jpg" || ext == ".jpeg") ? "jpeg" : "";
  FA_CHECK(!fmt.empty(), "cannot save image ", image_io_detail::display(file), ": unknown extension ",
           quote_value(ext), " (use .png, .jpg or .jpeg)");
  std::string what = image_io_detail::display(file);
  if (img.defined()) {
    what += " from a tensor of shape ";
    what += image_io_detail::shape_text(img);
  }
  auto [hwc, c] = image_io_detail::to_hwc(img, what);
  const uint8_t* p = hwc.data_ptr<uint8_t>();
  const auto bytes = fmt == "png" ? vision_codec::png_encode(p, hwc.size(0), hwc.size(1), c, what)
                                  : vision_codec::jpeg_encode(p, hwc.size(0), hwc.size(1), c, jpeg_quality, what);
  atomic_write(file, [&](const std::filesystem::path& tmp) {
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    FA_CHECK(f, "cannot write image file ", image_io_detail::display(file), ": ", std::strerror(errno));
    const size_t put = std::fwrite(bytes.data(), 1, bytes.size(), f);
    const bool ok = std::fclose(f) == 0 && put == bytes.size();
    FA_CHECK(ok, "cannot write image file ", image_io_detail::display(file), ": ", std::strerror(errno));
  });
}

std::pair<int64_t, int64_t> image_size(const std::filesystem::path& file) {
  namespace d = image_io_detail;
  auto head = d::read_bytes(file, 65536);
  const std::string name = d::display(file);
  const std::string f = vision_codec::sniff_format(head.data(), head.size());
  if (f == "PNG") {
    FA_CHECK(head.size() >= 24 && std::memcmp(head.data() + 12, "IHDR", 4) == 0, "cannot read the size of PNG image ",
             name, ": its header is truncated or has no IHDR chunk");
    auto be32 = [&](size_t i) {
      return (int64_t{head[i]} << 24) | (int64_t{head[i + 1]} << 16) | (int64_t{head[i + 2]} << 8) | head[i + 3];
    };
    const int64_t w = be32(16), h = be32(20);
    FA_CHECK(w > 0 && h > 0, "PNG image ", name, " has size ", w, "x", h, " (0-size image)");
    return {w, h};
  }
  if (f == "JPEG") {
    int64_t w = 0, h = 0;
    bool found = vision_codec::jpeg_header_size(head.data(), head.size(), w, h);
    if (!found && head.size() == 65536) {  // large metadata before the frame header: read on
      head = d::read_bytes(file, 0);
      found = vision_codec::jpeg_header_size(head.data(), head.size(), w, h);
    }
    FA_CHECK(found, "cannot read the size of JPEG image ", name, ": no frame header (truncated or corrupt file)");
    FA_CHECK(w > 0 && h > 0, "JPEG image ", name, " has size ", w, "x", h, " (0-size image)");
    return {w, h};
  }
  d::not_an_image(head.data(), head.size(), name);
}

int jpeg_scale_for(int64_t crop_h, int64_t crop_w, int64_t min_h, int64_t min_w) {
  if (min_h <= 0 || min_w <= 0) return 8;
  for (int num = 1; num < 8; ++num)
    if (crop_h * num >= 8 * min_h && crop_w * num >= 8 * min_w) return num;
  return 8;
}

TensorImage decode_image_region(const uint8_t* data, size_t n, std::string_view name, ImageMode mode,
                                const DecodeHint& hint, DecodedRegion* geometry) {
  const std::string nm(name);
  FA_CHECK(data && n > 0, "image ", nm, " is empty (0 bytes)");
  DecodedRegion g;
  TensorImage img;
  if (vision_codec::sniff_format(data, n) == "JPEG") {
    img = vision_codec::jpeg_decode_region(data, n, nm, mode, hint, g);
  } else {
    img = decode_image(data, n, name, mode);
    const int64_t h = img.data.size(1), w = img.data.size(2);
    g = DecodedRegion{1, 1, 0, 0, h, w, h, w, h, w};
  }
  if (geometry) *geometry = g;
  return img;
}

std::vector<uint8_t> read_image_bytes(const std::filesystem::path& file) { return image_io_detail::read_bytes(file, 0); }

// ---- EncodedImage -----------------------------------------------------------------------------

std::pair<int64_t, int64_t> EncodedImage::size() const {
  int64_t a = h, b = w;
  for (int k : pending)
    if (k & 4) std::swap(a, b);
  return {a, b};
}

const TensorImage& EncodedImage::decoded() const {
  std::call_once(cache->once, [this] {
    at::Tensor t = decode_image(bytes->data(), bytes->size(), name, mode).data;
    for (int k : pending) {
      if (k & 1) t = t.flip({-1});
      if (k & 2) t = t.flip({-2});
      if (k & 4) t = t.transpose(-2, -1).contiguous();
    }
    cache->img = TensorImage(std::move(t));
    cache->done.store(true, std::memory_order_release);
  });
  return cache->img;
}

bool EncodedImage::is_decoded() const { return cache->done.load(std::memory_order_acquire); }

EncodedImage EncodedImage::with_pending(const std::vector<int>& ks) const {
  EncodedImage r{bytes, name, mode, h, w, pending};
  for (int k : ks)
    if (k != 0) r.pending.push_back(k);
  if (r.pending == pending) return *this;  // nothing new: share the cache too
  return r;
}

std::shared_ptr<EncodedImage> encoded_jpeg(std::shared_ptr<const std::vector<uint8_t>> bytes, std::string name,
                                           ImageMode mode) {
  register_encoded_image_type();
  if (!bytes || mode == ImageMode::L || vision_codec::sniff_format(bytes->data(), bytes->size()) != "JPEG") return nullptr;
  int64_t w = 0, h = 0;
  if (!vision_codec::jpeg_header_size(bytes->data(), bytes->size(), w, h) || w <= 0 || h <= 0) return nullptr;
  return std::make_shared<EncodedImage>(EncodedImage{std::move(bytes), std::move(name), mode, h, w});
}

void register_encoded_image_type() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Viewing it as a TensorImage decodes it; a TensorImage result stays a TensorImage (retain).
    register_type_info(typeid(EncodedImage), "EncodedImage",
                       {TypeRelation{typeid(TensorImage),
                                     [](const void* p) -> const void* {
                                       return &static_cast<const EncodedImage*>(p)->decoded();
                                     },
                                     [](const void*, const Item& v) -> Item { return v; }}});
    register_describe<EncodedImage>([](const EncodedImage& e) {
      const auto [h, w] = e.size();
      std::string s = "EncodedImage(";
      s += e.name;
      s += ", size=[";
      s += std::to_string(h);
      s += ", ";
      s += std::to_string(w);
      s += "], not decoded yet)";
      return s;
    });
  });
}

namespace image_io_detail {
[[maybe_unused]] const bool encoded_registered = (register_encoded_image_type(), true);
}  // namespace image_io_detail

}  // namespace fastai
