// JPEG decoding and encoding with libjpeg(-turbo). As for PNG, libjpeg's error_exit longjmps back
// into small stage functions that hold only plain data; RAII contexts destroy the libjpeg objects.
// A source that runs out of data is an error (libjpeg would only warn and fill the rest with grey):
// PIL too refuses truncated JPEGs by default. jpeg_decode_region uses libjpeg-turbo's DCT scaling
// (scale_num / 8), jpeg_crop_scanline and jpeg_skip_scanlines to decode only a window, smaller.
#include "codec.h"

#include "fastai/core/error.h"

#include <ATen/ops/empty.h>

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <jpeglib.h>

namespace fastai::jpeg_io_detail {

struct DecCtx {
  jpeg_decompress_struct cinfo;
  jpeg_error_mgr jerr;
  jpeg_source_mgr src;
  std::jmp_buf jb;
  char msg[JMSG_LENGTH_MAX + 64] = {};
  bool created = false;
  DecCtx() {
    std::memset(&cinfo, 0, sizeof cinfo);
    std::memset(&src, 0, sizeof src);
  }
  DecCtx(const DecCtx&) = delete;
  DecCtx& operator=(const DecCtx&) = delete;
  ~DecCtx() {
    if (created) jpeg_destroy_decompress(&cinfo);
  }
};

[[noreturn]] void jump(j_common_ptr ci, char* msg, size_t cap, std::jmp_buf& jb, const char* text) {
  if (text) {
    std::snprintf(msg, cap, "%s", text);
  } else {
    char buf[JMSG_LENGTH_MAX] = {};
    (*ci->err->format_message)(ci, buf);
    std::snprintf(msg, cap, "%s", buf);
  }
  std::longjmp(jb, 1);
}

[[noreturn]] void on_dec_error(j_common_ptr ci) {
  auto* c = static_cast<DecCtx*>(ci->client_data);
  jump(ci, c->msg, sizeof c->msg, c->jb, nullptr);
}
void on_message(j_common_ptr) {}  // warnings (e.g. extraneous bytes) are tolerated silently, as PIL does

void src_init(j_decompress_ptr) {}
boolean src_fill(j_decompress_ptr ci) {
  auto* c = static_cast<DecCtx*>(ci->client_data);
  jump(reinterpret_cast<j_common_ptr>(ci), c->msg, sizeof c->msg, c->jb, "the data ends early (truncated file)");
}
void src_skip(j_decompress_ptr ci, long n) {
  if (n <= 0) return;
  auto* s = ci->src;
  if (static_cast<size_t>(n) > s->bytes_in_buffer) src_fill(ci);
  s->next_input_byte += n;
  s->bytes_in_buffer -= static_cast<size_t>(n);
}
void src_term(j_decompress_ptr) {}

// Stage 1a: header; output colour space chosen (grey, RGB, or CMYK converted by us).
bool header(DecCtx* c, const uint8_t* data, size_t n) {
  if (setjmp(c->jb)) return false;
  c->cinfo.err = jpeg_std_error(&c->jerr);
  c->jerr.error_exit = on_dec_error;
  c->jerr.output_message = on_message;
  c->cinfo.client_data = c;
  jpeg_create_decompress(&c->cinfo);
  c->created = true;
  c->src.next_input_byte = data;
  c->src.bytes_in_buffer = n;
  c->src.init_source = src_init;
  c->src.fill_input_buffer = src_fill;
  c->src.skip_input_data = src_skip;
  c->src.resync_to_restart = jpeg_resync_to_restart;
  c->src.term_source = src_term;
  c->cinfo.src = &c->src;
  jpeg_read_header(&c->cinfo, TRUE);
  switch (c->cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE: c->cinfo.out_color_space = JCS_GRAYSCALE; break;
    case JCS_CMYK:
    case JCS_YCCK: c->cinfo.out_color_space = JCS_CMYK; break;
    default: c->cinfo.out_color_space = JCS_RGB; break;
  }
  return true;
}

// Stage 1b: decompression started at scale num/8.
bool begin(DecCtx* c, int num) {
  if (setjmp(c->jb)) return false;
  c->cinfo.scale_num = static_cast<unsigned>(num);
  c->cinfo.scale_denom = 8;
  jpeg_start_decompress(&c->cinfo);
  return true;
}

// Stage 1 of a whole decode: header, then decompression started at full scale.
bool start(DecCtx* c, const uint8_t* data, size_t n) { return header(c, data, n) && begin(c, 8); }

// Stage 1c of a region decode: only columns [*x, *x + *w) (libjpeg widens them to iMCU boundaries
// and writes back what it chose), then rows before `skip` skipped.
bool crop_skip(DecCtx* c, JDIMENSION* x, JDIMENSION* w, JDIMENSION skip) {
  if (setjmp(c->jb)) return false;
  if (*x > 0 || *w < c->cinfo.output_width) jpeg_crop_scanline(&c->cinfo, x, w);
  if (skip > 0) jpeg_skip_scanlines(&c->cinfo, skip);
  return true;
}

// Rows [first, last) of the output into the planes (row first -> plane row 0).
void read_loop(DecCtx* c, uint8_t* rowbuf, uint8_t* rgbbuf, const vision_codec::Planes* dst, JDIMENSION first,
               JDIMENSION last) {
  auto& ci = c->cinfo;
  const int comps = ci.output_components;
  const bool direct = comps == 1 && dst->c == 1;  // grey -> L: straight into the tensor
  while (ci.output_scanline < last) {
    const int64_t y = static_cast<int64_t>(ci.output_scanline) - first;
    JSAMPROW row = direct ? dst->base + y * dst->w : rowbuf;
    jpeg_read_scanlines(&ci, &row, 1);
    if (direct) continue;
    if (comps == 4) {
      vision_codec::cmyk_inverted_to_rgb(rowbuf, rgbbuf, dst->w);
      vision_codec::convert_row(rgbbuf, 3, *dst, y);
    } else {
      vision_codec::convert_row(rowbuf, comps, *dst, y);
    }
  }
}

// Stage 2: the scanlines into the planes.
bool read_lines(DecCtx* c, uint8_t* rowbuf, uint8_t* rgbbuf, const vision_codec::Planes* dst, JDIMENSION first,
                JDIMENSION last) {
  if (setjmp(c->jb)) return false;
  read_loop(c, rowbuf, rgbbuf, dst, first, last);
  return true;
}

// ---- writing: into a realloc'd buffer of our own (no exception may cross libjpeg) ----

struct EncCtx {
  jpeg_compress_struct cinfo;
  jpeg_error_mgr jerr;
  jpeg_destination_mgr dest;
  std::jmp_buf jb;
  char msg[JMSG_LENGTH_MAX + 64] = {};
  bool created = false;
  uint8_t* buf = nullptr;
  size_t size = 0, cap = 0;
  EncCtx() {
    std::memset(&cinfo, 0, sizeof cinfo);
    std::memset(&dest, 0, sizeof dest);
  }
  EncCtx(const EncCtx&) = delete;
  EncCtx& operator=(const EncCtx&) = delete;
  ~EncCtx() {
    if (created) jpeg_destroy_compress(&cinfo);
    std::free(buf);
  }
};

[[noreturn]] void on_enc_error(j_common_ptr ci) {
  auto* c = static_cast<EncCtx*>(ci->client_data);
  jump(ci, c->msg, sizeof c->msg, c->jb, nullptr);
}

bool grow(EncCtx* c) {
  size_t cap = c->cap ? c->cap * 2 : 65536;
  auto* nb = static_cast<uint8_t*>(std::realloc(c->buf, cap));
  if (!nb) return false;
  c->buf = nb;
  c->cap = cap;
  return true;
}
void dest_init(j_compress_ptr ci) {
  auto* c = static_cast<EncCtx*>(ci->client_data);
  if (!c->buf && !grow(c)) jump(reinterpret_cast<j_common_ptr>(ci), c->msg, sizeof c->msg, c->jb, "out of memory");
  c->dest.next_output_byte = c->buf;
  c->dest.free_in_buffer = c->cap;
}
boolean dest_empty(j_compress_ptr ci) {  // the whole buffer is full
  auto* c = static_cast<EncCtx*>(ci->client_data);
  const size_t used = c->cap;
  if (!grow(c)) jump(reinterpret_cast<j_common_ptr>(ci), c->msg, sizeof c->msg, c->jb, "out of memory");
  c->dest.next_output_byte = c->buf + used;
  c->dest.free_in_buffer = c->cap - used;
  return TRUE;
}
void dest_term(j_compress_ptr ci) {
  auto* c = static_cast<EncCtx*>(ci->client_data);
  c->size = c->cap - c->dest.free_in_buffer;
}

bool encode(EncCtx* c, const uint8_t* hwc, JDIMENSION h, JDIMENSION w, int comps, int quality) {
  if (setjmp(c->jb)) return false;
  c->cinfo.err = jpeg_std_error(&c->jerr);
  c->jerr.error_exit = on_enc_error;
  c->jerr.output_message = on_message;
  c->cinfo.client_data = c;
  jpeg_create_compress(&c->cinfo);
  c->created = true;
  c->dest.init_destination = dest_init;
  c->dest.empty_output_buffer = dest_empty;
  c->dest.term_destination = dest_term;
  c->cinfo.dest = &c->dest;
  c->cinfo.image_width = w;
  c->cinfo.image_height = h;
  c->cinfo.input_components = comps;
  c->cinfo.in_color_space = comps == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&c->cinfo);
  jpeg_set_quality(&c->cinfo, quality, TRUE);
  jpeg_start_compress(&c->cinfo, TRUE);
  while (c->cinfo.next_scanline < c->cinfo.image_height) {
    // libjpeg takes non-const rows but only reads them
    JSAMPROW row = const_cast<uint8_t*>(hwc) + static_cast<size_t>(c->cinfo.next_scanline) * w * comps;
    jpeg_write_scanlines(&c->cinfo, &row, 1);
  }
  jpeg_finish_compress(&c->cinfo);
  return true;
}

}  // namespace fastai::jpeg_io_detail

namespace fastai::vision_codec {

TensorImage jpeg_decode(const uint8_t* data, size_t n, const std::string& name, ImageMode mode) {
  namespace d = jpeg_io_detail;
  d::DecCtx c;
  if (!d::start(&c, data, n)) fail("cannot decode JPEG image ", name, ": ", c.msg);
  const int64_t h = c.cinfo.output_height, w = c.cinfo.output_width;
  const int comps = c.cinfo.output_components;
  const int oc = out_channels(comps == 4 ? 3 : comps, mode);
  at::Tensor out = at::empty({oc, h, w}, at::kByte);
  Planes dst{out.data_ptr<uint8_t>(), h, w, oc};
  std::vector<uint8_t> rowbuf(static_cast<size_t>(w * comps)), rgbbuf(comps == 4 ? static_cast<size_t>(w * 3) : 0);
  if (!d::read_lines(&c, rowbuf.data(), rgbbuf.data(), &dst, 0, c.cinfo.output_height))
    fail("cannot decode JPEG image ", name, ": ", c.msg);
  return TensorImage(std::move(out));
}

TensorImage jpeg_decode_region(const uint8_t* data, size_t n, const std::string& name, ImageMode mode,
                               const DecodeHint& hint, DecodedRegion& g) {
  namespace d = jpeg_io_detail;
  d::DecCtx c;
  if (!d::header(&c, data, n)) fail("cannot decode JPEG image ", name, ": ", c.msg);
  // A region decode stops reading early, so it would miss a truncated end: without an EOI marker
  // near the end, every row is read (and the truncation reported, as a full decode does).
  bool eoi = false;
  for (size_t i = n >= 64 ? n - 64 : 0; i + 1 < n && !eoi; ++i) eoi = data[i] == 0xFF && data[i + 1] == 0xD9;
  const int64_t H = c.cinfo.image_height, W = c.cinfo.image_width;
  const bool whole = hint.crop_h <= 0 || hint.crop_w <= 0;
  const int64_t wt = whole ? 0 : hint.top, wl = whole ? 0 : hint.left;
  const int64_t wh = whole ? H : hint.crop_h, ww = whole ? W : hint.crop_w;
  const int num = jpeg_scale_for(wh, ww, hint.min_h, hint.min_w);
  if (!d::begin(&c, num)) fail("cannot decode JPEG image ", name, ": ", c.msg);
  const int64_t SH = c.cinfo.output_height, SW = c.cinfo.output_width;
  // The window clipped to the image, in scaled pixels (rounded outwards).
  auto lo = [num](int64_t v, int64_t lim) { return std::clamp<int64_t>((std::max<int64_t>(v, 0) * num) / 8, 0, lim); };
  auto hi = [num](int64_t v, int64_t lim) { return std::clamp<int64_t>((v * num + 7) / 8, 0, lim); };
  int64_t y0 = lo(wt, SH), y1 = hi(wt + wh, SH), x0 = lo(wl, SW), x1 = hi(wl + ww, SW);
  if (!hint.crop || !eoi || y1 <= y0 || x1 <= x0) y0 = 0, y1 = SH, x0 = 0, x1 = SW;  // all of it
  auto xo = static_cast<JDIMENSION>(x0), xw = static_cast<JDIMENSION>(x1 - x0);
  if (!d::crop_skip(&c, &xo, &xw, static_cast<JDIMENSION>(y0))) fail("cannot decode JPEG image ", name, ": ", c.msg);
  const int64_t h = y1 - y0, w = c.cinfo.output_width;
  const int comps = c.cinfo.output_components;
  const int oc = out_channels(comps == 4 ? 3 : comps, mode);
  at::Tensor out = at::empty({oc, h, w}, at::kByte);
  Planes dst{out.data_ptr<uint8_t>(), h, w, oc};
  std::vector<uint8_t> rowbuf(static_cast<size_t>(w * comps)), rgbbuf(comps == 4 ? static_cast<size_t>(w * 3) : 0);
  if (!d::read_lines(&c, rowbuf.data(), rgbbuf.data(), &dst, static_cast<JDIMENSION>(y0), static_cast<JDIMENSION>(y1)))
    fail("cannot decode JPEG image ", name, ": ", c.msg);
  g = DecodedRegion{num, 8, y0, static_cast<int64_t>(xo), h, w, SH, SW, H, W};
  return TensorImage(std::move(out));
}

std::vector<uint8_t> jpeg_encode(const uint8_t* hwc, int64_t h, int64_t w, int c, int quality, const std::string& what) {
  FA_CHECK(c == 1 || c == 3, "cannot save ", what, " as JPEG: JPEG holds 1 (grey) or 3 (RGB) channels, got ", c,
           c == 4 ? " (drop the alpha channel, or save as PNG)" : "");
  FA_CHECK(quality >= 1 && quality <= 100, "cannot save ", what, " as JPEG: quality must be 1..100, got ", quality);
  FA_CHECK(h > 0 && w > 0 && h <= 65500 && w <= 65500, "cannot save ", what, " as JPEG: its size ", w, "x", h,
           " is outside 1..65500");
  jpeg_io_detail::EncCtx ctx;
  if (!jpeg_io_detail::encode(&ctx, hwc, static_cast<JDIMENSION>(h), static_cast<JDIMENSION>(w), c, quality))
    fail("cannot encode ", what, " as JPEG: ", ctx.msg);
  return std::vector<uint8_t>(ctx.buf, ctx.buf + ctx.size);
}

bool jpeg_header_size(const uint8_t* d, size_t n, int64_t& w, int64_t& h) {
  if (n < 4 || d[0] != 0xFF || d[1] != 0xD8) return false;
  size_t i = 2;
  while (i + 4 <= n) {
    if (d[i] != 0xFF) return false;
    const uint8_t m = d[i + 1];
    if (m == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    if (m == 0x01 || (m >= 0xD0 && m <= 0xD8)) {  // markers without a length
      i += 2;
      continue;
    }
    if (m == 0xD9 || m == 0xDA) return false;  // EOI / SOS before any frame header
    const size_t len = (size_t{d[i + 2]} << 8) | d[i + 3];
    const bool sof = m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
    if (sof) {
      if (i + 9 > n) return false;
      h = (int64_t{d[i + 5]} << 8) | d[i + 6];
      w = (int64_t{d[i + 7]} << 8) | d[i + 8];
      return true;
    }
    if (len < 2) return false;
    i += 2 + len;
  }
  return false;
}

}  // namespace fastai::vision_codec
