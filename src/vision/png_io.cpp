// PNG decoding and encoding with libpng. libpng reports errors by calling our error function, which
// must not return: it longjmps back into a "stage" function. Stage functions hold only plain data
// (no C++ objects with destructors that a longjmp would skip) and return false on error; their
// callers own the libpng handles through a RAII context and turn the message into fastai::Error.
#include "codec.h"

#include "fastai/core/error.h"

#include <ATen/ops/empty.h>
#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace fastai::png_io_detail {

struct ReadCtx {
  std::jmp_buf jb;
  const uint8_t* data = nullptr;
  size_t n = 0, pos = 0;
  char msg[256] = {};
  char warning[256] = {};  // the last warning: often the detail behind an error ("Image width is zero")
  png_structp png = nullptr;
  png_infop info = nullptr;
  png_uint_32 width = 0, height = 0;
  int bit_depth = 0, color_type = 0, interlace = 0, channels = 0, passes = 1;
  size_t rowbytes = 0;
  ReadCtx() = default;
  ReadCtx(const ReadCtx&) = delete;
  ReadCtx& operator=(const ReadCtx&) = delete;
  ~ReadCtx() {
    if (png) png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
  }
};

[[noreturn]] void on_read_error(png_structp p, png_const_charp m) {
  auto* c = static_cast<ReadCtx*>(png_get_error_ptr(p));
  std::snprintf(c->msg, sizeof c->msg, "%s", m ? m : "libpng error");
  std::longjmp(c->jb, 1);
}
// Warnings are not printed (PIL is silent about ancillary-chunk issues too), but the last one is
// kept for the error message.
void on_read_warning(png_structp p, png_const_charp m) {
  auto* c = static_cast<ReadCtx*>(png_get_error_ptr(p));
  std::snprintf(c->warning, sizeof c->warning, "%s", m ? m : "");
}
void on_write_warning(png_structp, png_const_charp) {}

void on_read(png_structp p, png_bytep out, size_t len) {
  auto* c = static_cast<ReadCtx*>(png_get_io_ptr(p));
  if (c->n - c->pos < len) png_error(p, "the data ends early (truncated file)");
  std::memcpy(out, c->data + c->pos, len);
  c->pos += len;
}

// Stage 1: header and transformations. kind 0: image (8-bit, palettes expanded); 1: mask (palette
// indices and grey values kept, 16-bit kept, alpha stripped; colour types left alone).
bool read_header(ReadCtx* c, int kind) {
  if (setjmp(c->jb)) return false;
  c->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, c, on_read_error, on_read_warning);
  if (!c->png) {
    std::snprintf(c->msg, sizeof c->msg, "libpng could not be initialised");
    return false;
  }
  c->info = png_create_info_struct(c->png);
  if (!c->info) png_error(c->png, "out of memory");
  png_set_read_fn(c->png, c, on_read);
  png_read_info(c->png, c->info);
  png_get_IHDR(c->png, c->info, &c->width, &c->height, &c->bit_depth, &c->color_type, &c->interlace, nullptr, nullptr);
  if (kind == 0) {
    if (c->color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(c->png);
    if (c->color_type == PNG_COLOR_TYPE_GRAY && c->bit_depth < 8) png_set_expand_gray_1_2_4_to_8(c->png);
    if (c->bit_depth == 16) png_set_strip_16(c->png);  // keeps the high byte, as PIL does for RGB
  } else {
    if (c->bit_depth < 8) png_set_packing(c->png);
    if (c->color_type == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_strip_alpha(c->png);
  }
  c->passes = png_set_interlace_handling(c->png);
  png_read_update_info(c->png, c->info);
  c->channels = png_get_channels(c->png, c->info);
  c->rowbytes = png_get_rowbytes(c->png, c->info);
  return true;
}

void read_rows_convert(ReadCtx* c, uint8_t* rowbuf, const vision_codec::Planes* dst) {
  const bool direct = c->channels == 1 && dst->c == 1;  // grey -> L: straight into the tensor
  for (int64_t y = 0; y < dst->h; ++y) {
    uint8_t* row = direct ? dst->base + y * dst->w : rowbuf;
    png_read_row(c->png, row, nullptr);
    if (!direct) vision_codec::convert_row(row, c->channels, *dst, y);
  }
}

// Stage 2, non-interlaced: row by row through one row buffer into the planes.
bool read_converted(ReadCtx* c, uint8_t* rowbuf, const vision_codec::Planes* dst) {
  if (setjmp(c->jb)) return false;
  read_rows_convert(c, rowbuf, dst);
  return true;
}

// Stage 2, interlaced images and masks: the whole image into `rows`.
bool read_all(ReadCtx* c, png_bytepp rows) {
  if (setjmp(c->jb)) return false;
  png_read_image(c->png, rows);
  return true;
}

[[noreturn]] void fail_png(const ReadCtx& c, const std::string& name) {
  if (c.warning[0]) fail("cannot decode PNG image ", name, ": ", c.msg, " (libpng warned: ", c.warning, ")");
  fail("cannot decode PNG image ", name, ": ", c.msg);
}

void start(ReadCtx& c, const uint8_t* data, size_t n, const std::string& name, int kind) {
  c.data = data;
  c.n = n;
  if (!read_header(&c, kind)) fail_png(c, name);  // libpng rejects a zero width or height itself
}

std::vector<png_bytep> row_pointers(uint8_t* base, size_t rowbytes, size_t h) {
  std::vector<png_bytep> rows(h);
  for (size_t y = 0; y < h; ++y) rows[y] = base + y * rowbytes;
  return rows;
}

// ---- writing ----

struct WriteCtx {
  std::jmp_buf jb;
  char msg[256] = {};
  png_structp png = nullptr;
  png_infop info = nullptr;
  uint8_t* buf = nullptr;  // malloc'd: grown inside libpng's callbacks, where nothing may throw
  size_t size = 0, cap = 0;
  WriteCtx() = default;
  WriteCtx(const WriteCtx&) = delete;
  WriteCtx& operator=(const WriteCtx&) = delete;
  ~WriteCtx() {
    if (png) png_destroy_write_struct(&png, info ? &info : nullptr);
    std::free(buf);
  }
};

[[noreturn]] void on_write_error(png_structp p, png_const_charp m) {
  auto* c = static_cast<WriteCtx*>(png_get_error_ptr(p));
  std::snprintf(c->msg, sizeof c->msg, "%s", m ? m : "libpng error");
  std::longjmp(c->jb, 1);
}

void on_write(png_structp p, png_bytep in, size_t len) {
  auto* c = static_cast<WriteCtx*>(png_get_io_ptr(p));
  if (c->cap - c->size < len) {
    size_t cap = c->cap ? c->cap : 4096;
    while (cap - c->size < len) cap *= 2;
    auto* nb = static_cast<uint8_t*>(std::realloc(c->buf, cap));
    if (!nb) png_error(p, "out of memory");
    c->buf = nb;
    c->cap = cap;
  }
  std::memcpy(c->buf + c->size, in, len);
  c->size += len;
}
void on_flush(png_structp) {}

bool write_png(WriteCtx* c, png_bytepp rows, png_uint_32 h, png_uint_32 w, int color_type) {
  if (setjmp(c->jb)) return false;
  c->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, c, on_write_error, on_write_warning);
  if (!c->png) {
    std::snprintf(c->msg, sizeof c->msg, "libpng could not be initialised");
    return false;
  }
  c->info = png_create_info_struct(c->png);
  if (!c->info) png_error(c->png, "out of memory");
  png_set_write_fn(c->png, c, on_write, on_flush);
  png_set_IHDR(c->png, c->info, w, h, 8, color_type, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(c->png, c->info);
  png_write_image(c->png, rows);
  png_write_end(c->png, nullptr);
  return true;
}

}  // namespace fastai::png_io_detail

namespace fastai::vision_codec {

TensorImage png_decode(const uint8_t* data, size_t n, const std::string& name, ImageMode mode) {
  namespace d = png_io_detail;
  d::ReadCtx c;
  d::start(c, data, n, name, 0);
  const int64_t h = c.height, w = c.width;
  const int oc = out_channels(c.channels, mode);
  at::Tensor out = at::empty({oc, h, w}, at::kByte);
  Planes dst{out.data_ptr<uint8_t>(), h, w, oc};
  if (c.passes == 1) {
    std::vector<uint8_t> rowbuf(c.rowbytes);
    if (!d::read_converted(&c, rowbuf.data(), &dst)) d::fail_png(c, name);
  } else {
    std::vector<uint8_t> all(c.rowbytes * static_cast<size_t>(h));
    auto rows = d::row_pointers(all.data(), c.rowbytes, static_cast<size_t>(h));
    if (!d::read_all(&c, rows.data())) d::fail_png(c, name);
    for (int64_t y = 0; y < h; ++y) convert_row(rows[static_cast<size_t>(y)], c.channels, dst, y);
  }
  return TensorImage(std::move(out));
}

TensorMask png_decode_mask(const uint8_t* data, size_t n, const std::string& name) {
  namespace d = png_io_detail;
  d::ReadCtx c;
  d::start(c, data, n, name, 1);
  FA_CHECK(c.channels == 1, "mask ", name, " is a colour PNG (",
           (c.color_type & PNG_COLOR_MASK_ALPHA) ? "RGBA" : "RGB",
           "); a mask must be one channel of class indices: grey values or a palette PNG");
  const int64_t h = c.height, w = c.width;
  std::vector<uint8_t> all(c.rowbytes * static_cast<size_t>(h));
  auto rows = d::row_pointers(all.data(), c.rowbytes, static_cast<size_t>(h));
  if (!d::read_all(&c, rows.data())) d::fail_png(c, name);
  at::Tensor out = at::empty({h, w}, at::kLong);
  int64_t* o = out.data_ptr<int64_t>();
  for (int64_t y = 0; y < h; ++y) {
    const uint8_t* r = rows[static_cast<size_t>(y)];
    if (c.bit_depth == 16) {
      for (int64_t x = 0; x < w; ++x) o[y * w + x] = (int64_t{r[2 * x]} << 8) | r[2 * x + 1];
    } else {
      for (int64_t x = 0; x < w; ++x) o[y * w + x] = r[x];
    }
  }
  return TensorMask(std::move(out));
}

std::vector<uint8_t> png_encode(const uint8_t* hwc, int64_t h, int64_t w, int c, const std::string& what) {
  namespace d = png_io_detail;
  static constexpr int types[] = {PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                  PNG_COLOR_TYPE_RGB_ALPHA};
  FA_CHECK(c >= 1 && c <= 4, "cannot save ", what, " as PNG: expected 1 to 4 channels, got ", c);
  FA_CHECK(h > 0 && w > 0 && h <= 0x7fffffff && w <= 0x7fffffff, "cannot save ", what, " as PNG: its size is ", w,
           "x", h);
  // libpng takes non-const row pointers but does not write through them when writing
  auto rows = d::row_pointers(const_cast<uint8_t*>(hwc), static_cast<size_t>(w * c), static_cast<size_t>(h));
  d::WriteCtx ctx;
  if (!d::write_png(&ctx, rows.data(), static_cast<png_uint_32>(h), static_cast<png_uint_32>(w), types[c - 1]))
    fail("cannot encode ", what, " as PNG: ", ctx.msg);
  return std::vector<uint8_t>(ctx.buf, ctx.buf + ctx.size);
}

}  // namespace fastai::vision_codec
