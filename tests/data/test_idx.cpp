// read_idx (raw and gzip'd IDX files written here with zlib), its errors, and Fashion-MNIST.
#include "test_util.h"
#include "fastai/data/idx.h"

#include "fastai/core/error.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

namespace fastai_test_idx {

namespace fs = std::filesystem;
using Bytes = std::vector<unsigned char>;

// IDX bytes for tensor `t` with type byte `code` (data written big-endian).
Bytes idx_bytes(const at::Tensor& t, unsigned char code) {
  Bytes b = {0, 0, code, static_cast<unsigned char>(t.dim())};
  for (int64_t d : t.sizes()) {
    auto v = static_cast<uint32_t>(d);
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<unsigned char>(v >> s));
  }
  at::Tensor c = t.contiguous();
  const auto* p = static_cast<const unsigned char*>(c.data_ptr());
  const auto es = static_cast<size_t>(c.element_size());
  for (int64_t i = 0; i < c.numel(); ++i)
    for (size_t k = 0; k < es; ++k) b.push_back(p[i * es + (es - 1 - k)]);  // little -> big endian
  return b;
}

void write_raw(const fs::path& f, const Bytes& b) {
  std::ofstream o(f, std::ios::binary);
  o.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

void write_gz(const fs::path& f, const Bytes& b) {
  gzFile g = gzopen(f.c_str(), "wb");
  ASSERT_NE(g, nullptr) << f;
  if (!b.empty()) {
    ASSERT_EQ(gzwrite(g, b.data(), static_cast<unsigned>(b.size())), static_cast<int>(b.size()));
  }
  ASSERT_EQ(gzclose(g), Z_OK);
}

using fastai::testing::error_of;

class IdxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("fastai_idx_" + std::to_string(::getpid()) + "_" + info->test_suite_name() + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path dir_;
};

struct Case {
  at::Tensor t;
  unsigned char code;
};

std::vector<Case> all_types() {
  return {
      {at::arange(24, at::kByte).reshape({2, 3, 4}) * 10, 0x08},
      {(at::arange(10, at::kChar) - 5) * 20, 0x09},
      {at::tensor({-30000, -1, 0, 1, 258, 30000}, at::kShort).reshape({3, 2}), 0x0B},
      {at::tensor({-2000000000, -1, 0, 1, 16909060, 2000000000}, at::kInt).reshape({2, 3, 1}), 0x0C},
      {at::tensor({-1.5f, 0.f, 3.25f, 1e-30f, 6.02e23f}, at::kFloat), 0x0D},
      {at::tensor({-1.0 / 3, 0.0, 2.5, 1e-300, 1e300, 42.0}, at::kDouble).reshape({1, 6}), 0x0E},
  };
}

TEST_F(IdxTest, RoundTripsEveryTypeRawAndGzip) {
  for (const Case& c : all_types()) {
    const Bytes b = idx_bytes(c.t, c.code);
    std::string stem = "t";
    stem += std::to_string(c.code);
    const fs::path raw = dir_ / (stem + ".idx"), gz = dir_ / (stem + ".idx.gz");
    write_raw(raw, b);
    write_gz(gz, b);
    for (const fs::path& f : {raw, gz}) {
      at::Tensor r = fastai::read_idx(f);
      EXPECT_EQ(r.scalar_type(), c.t.scalar_type()) << f;
      EXPECT_EQ(r.sizes(), c.t.sizes()) << f;
      EXPECT_TRUE(r.device().is_cpu());
      EXPECT_TRUE(at::equal(r, c.t)) << f << "\n" << r << "\nvs\n" << c.t;
    }
  }
}

TEST_F(IdxTest, GzipDetectedByMagicNotName) {
  at::Tensor t = at::arange(6, at::kInt).reshape({2, 3}) - 3;
  const Bytes b = idx_bytes(t, 0x0C);
  write_gz(dir_ / "compressed-without-suffix", b);
  write_raw(dir_ / "raw-with-suffix.gz", b);
  EXPECT_TRUE(at::equal(fastai::read_idx(dir_ / "compressed-without-suffix"), t));
  EXPECT_TRUE(at::equal(fastai::read_idx(dir_ / "raw-with-suffix.gz"), t));
  // The magic number really is the one from the spec: 0x00000803 for uint8 3-d.
  Bytes m = idx_bytes(at::zeros({1, 2, 2}, at::kByte), 0x08);
  EXPECT_EQ(m[0], 0x00);
  EXPECT_EQ(m[1], 0x00);
  EXPECT_EQ(m[2], 0x08);
  EXPECT_EQ(m[3], 0x03);
}

TEST_F(IdxTest, TruncatedDataSaysExpectedAndGot) {
  at::Tensor t = at::arange(6, at::kInt);  // 24 data bytes after an 8-byte header
  Bytes b = idx_bytes(t, 0x0C);
  b.resize(8 + 10);
  const fs::path raw = dir_ / "short.idx", gz = dir_ / "short.idx.gz";
  write_raw(raw, b);
  write_gz(gz, b);
  for (const fs::path& f : {raw, gz}) {
    std::string e = error_of([&] { fastai::read_idx(f); });
    EXPECT_NE(e.find(f.string()), std::string::npos) << e;
    EXPECT_NE(e.find("truncated"), std::string::npos) << e;
    EXPECT_NE(e.find("expected 24 bytes"), std::string::npos) << e;
    EXPECT_NE(e.find("got 10"), std::string::npos) << e;
  }

  // A gzip stream cut in the middle (not a complete member): still an Error naming the file.
  Bytes big = idx_bytes(at::randint(0, 255, {50, 28, 28}, at::kByte), 0x08);
  const fs::path full = dir_ / "full.gz";
  write_gz(full, big);
  auto sz = fs::file_size(full);
  fs::resize_file(full, sz / 2);
  std::string e = error_of([&] { fastai::read_idx(full); });
  EXPECT_NE(e.find(full.string()), std::string::npos) << e;
  EXPECT_NE(e.find("expected 39200 bytes"), std::string::npos) << e;

  // Header cut short.
  Bytes h = {0, 0, 0x08, 3, 0, 0};
  write_raw(dir_ / "hdr.idx", h);
  e = error_of([&] { fastai::read_idx(dir_ / "hdr.idx"); });
  EXPECT_NE(e.find("hdr.idx"), std::string::npos) << e;
  EXPECT_NE(e.find("truncated header"), std::string::npos) << e;
  write_raw(dir_ / "empty.idx", {});
  e = error_of([&] { fastai::read_idx(dir_ / "empty.idx"); });
  EXPECT_NE(e.find("empty.idx"), std::string::npos) << e;
  EXPECT_NE(e.find("got 0"), std::string::npos) << e;
}

TEST_F(IdxTest, BadMagicUnsupportedTypeMissingFileTrailingBytes) {
  Bytes b = idx_bytes(at::arange(4, at::kByte), 0x08);
  b[0] = 0x12;
  write_gz(dir_ / "bad.gz", b);
  std::string e = error_of([&] { fastai::read_idx(dir_ / "bad.gz"); });
  EXPECT_NE(e.find("bad.gz"), std::string::npos) << e;
  EXPECT_NE(e.find("bad magic"), std::string::npos) << e;
  EXPECT_NE(e.find("0x12000801"), std::string::npos) << e;

  b = idx_bytes(at::arange(4, at::kByte), 0x0A);
  write_raw(dir_ / "type.idx", b);
  e = error_of([&] { fastai::read_idx(dir_ / "type.idx"); });
  EXPECT_NE(e.find("type.idx"), std::string::npos) << e;
  EXPECT_NE(e.find("unsupported"), std::string::npos) << e;
  EXPECT_NE(e.find("0x0a"), std::string::npos) << e;

  e = error_of([&] { fastai::read_idx(dir_ / "nope.idx.gz"); });
  EXPECT_NE(e.find("nope.idx.gz"), std::string::npos) << e;
  EXPECT_NE(e.find("does not exist"), std::string::npos) << e;

  b = idx_bytes(at::arange(4, at::kByte), 0x08);
  b.push_back(7);
  write_raw(dir_ / "trail.idx", b);
  e = error_of([&] { fastai::read_idx(dir_ / "trail.idx"); });
  EXPECT_NE(e.find("trail.idx"), std::string::npos) << e;
  EXPECT_NE(e.find("unexpected bytes"), std::string::npos) << e;

  // A header claiming far more than the raw file holds fails before allocating it.
  Bytes huge = {0, 0, 0x0E, 2, 0x00, 0xff, 0xff, 0xff, 0x00, 0xff, 0xff, 0xff};
  write_raw(dir_ / "huge.idx", huge);
  e = error_of([&] { fastai::read_idx(dir_ / "huge.idx"); });
  EXPECT_NE(e.find("huge.idx"), std::string::npos) << e;
  EXPECT_NE(e.find("truncated"), std::string::npos) << e;
  // Sizes whose product overflows 64 bits.
  Bytes ovf = {0, 0, 0x0E, 3, 0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff};
  write_gz(dir_ / "ovf.idx", ovf);
  e = error_of([&] { fastai::read_idx(dir_ / "ovf.idx"); });
  EXPECT_NE(e.find("ovf.idx"), std::string::npos) << e;
  EXPECT_NE(e.find("overflow"), std::string::npos) << e;
}

// ---- Fashion-MNIST ---------------------------------------------------------------------------

const char* const kNames[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                               "t10k-labels-idx1-ubyte"};

void write_fake_fashion(const fs::path& dir, int64_t ntrain, int64_t nvalid, int64_t nlabels_train = -1) {
  if (nlabels_train < 0) nlabels_train = ntrain;
  fs::create_directories(dir);
  write_gz(dir / (std::string(kNames[0]) + ".gz"),
           idx_bytes(at::arange(ntrain * 784, at::kLong).remainder(256).to(at::kByte).reshape({ntrain, 28, 28}), 0x08));
  write_gz(dir / (std::string(kNames[1]) + ".gz"), idx_bytes(at::arange(nlabels_train, at::kLong).remainder(10).to(at::kByte), 0x08));
  write_raw(dir / kNames[2], idx_bytes(at::full({nvalid, 28, 28}, 255, at::kByte), 0x08));  // raw, no .gz
  write_raw(dir / kNames[3], idx_bytes(at::full({nvalid}, 9, at::kByte), 0x08));
}

TEST_F(IdxTest, FashionMNISTFromAFolder) {
  write_fake_fashion(dir_, 12, 3);
  fastai::FashionMNIST d = fastai::load_fashion_mnist(dir_);
  EXPECT_EQ(d.train_x.sizes(), (std::vector<int64_t>{12, 28, 28}));
  EXPECT_EQ(d.train_x.scalar_type(), at::kByte);
  EXPECT_EQ(d.train_y.scalar_type(), at::kLong);
  EXPECT_EQ(d.train_y.sizes(), (std::vector<int64_t>{12}));
  EXPECT_EQ(d.train_y[11].item<int64_t>(), 1);
  EXPECT_EQ(d.valid_x.size(0), 3);
  EXPECT_EQ(d.valid_y[2].item<int64_t>(), 9);
  EXPECT_EQ(d.train_x[1][0][0].item<int64_t>(), 784 % 256);
  ASSERT_EQ(fastai::FashionMNIST::classes.size(), 10u);
  EXPECT_EQ(fastai::FashionMNIST::classes[0], "T-shirt/top");
  EXPECT_EQ(fastai::FashionMNIST::classes[9], "Ankle boot");

  auto [x, y] = fastai::fashion_mnist_to_float(d.valid_x, d.valid_y);
  EXPECT_EQ(x.sizes(), (std::vector<int64_t>{3, 1, 28, 28}));
  EXPECT_EQ(x.scalar_type(), at::kFloat);
  EXPECT_FLOAT_EQ(x.max().item<float>(), 1.0f);
  EXPECT_EQ(y.scalar_type(), at::kLong);
  auto [x2, y2] = fastai::fashion_mnist_to_float(d.train_x, d.train_y);
  EXPECT_FLOAT_EQ(x2[1][0][0][0].item<float>(), static_cast<float>(784 % 256) / 255.f);
  EXPECT_GE(x2.min().item<float>(), 0.f);
  EXPECT_LE(x2.max().item<float>(), 1.f);
  EXPECT_EQ(d.train_x.scalar_type(), at::kByte) << "inputs untouched";
  std::string e = error_of([&] { fastai::fashion_mnist_to_float(x, y); });
  EXPECT_NE(e.find("uint8"), std::string::npos) << e;
  e = error_of([&] { fastai::fashion_mnist_to_float(d.train_x, d.valid_y); });
  EXPECT_NE(e.find("labels"), std::string::npos) << e;
}

TEST_F(IdxTest, FashionMNISTMissingAndMismatchedFiles) {
  const fs::path nowhere = dir_ / "not-there";
  std::string e = error_of([&] { fastai::load_fashion_mnist(nowhere); });
  EXPECT_NE(e.find("train-images-idx3-ubyte.gz"), std::string::npos) << e;
  EXPECT_NE(e.find("sudo apt-get install dataset-fashion-mnist"), std::string::npos) << e;
  EXPECT_NE(e.find("bash scripts/setup.sh"), std::string::npos) << e;

  const fs::path partial = dir_ / "partial";
  write_fake_fashion(partial, 4, 2);
  fs::remove(partial / kNames[3]);
  e = error_of([&] { fastai::load_fashion_mnist(partial); });
  EXPECT_NE(e.find("t10k-labels-idx1-ubyte"), std::string::npos) << e;
  EXPECT_NE(e.find("sudo apt-get install dataset-fashion-mnist"), std::string::npos) << e;

  const fs::path mism = dir_ / "mismatch";
  write_fake_fashion(mism, 5, 2, 4);
  e = error_of([&] { fastai::load_fashion_mnist(mism); });
  EXPECT_NE(e.find("train-images-idx3-ubyte.gz"), std::string::npos) << e;
  EXPECT_NE(e.find("train-labels-idx1-ubyte.gz"), std::string::npos) << e;
  EXPECT_NE(e.find("5 images"), std::string::npos) << e;
  EXPECT_NE(e.find("4 labels"), std::string::npos) << e;

  const fs::path badlab = dir_ / "badlabel";
  write_fake_fashion(badlab, 3, 2);
  write_raw(badlab / kNames[3], idx_bytes(at::full({2}, 10, at::kByte), 0x08));
  e = error_of([&] { fastai::load_fashion_mnist(badlab); });
  EXPECT_NE(e.find("t10k-labels-idx1-ubyte"), std::string::npos) << e;
  EXPECT_NE(e.find("label 10"), std::string::npos) << e;
}

TEST_F(IdxTest, DefaultFolderFollowsFastaiHome) {
  const char* old = std::getenv("FASTAI_HOME");
  std::optional<std::string> saved = old ? std::optional<std::string>(old) : std::nullopt;
  ::setenv("FASTAI_HOME", dir_.c_str(), 1);
  EXPECT_EQ(fastai::default_fashion_mnist_dir(), fs::path("/usr/share/datasets/fashion-mnist"));
  write_fake_fashion(dir_ / "data" / "fashion_mnist", 2, 1);
  EXPECT_EQ(fastai::default_fashion_mnist_dir(), dir_ / "data" / "fashion_mnist");
  fastai::FashionMNIST d = fastai::load_fashion_mnist();
  EXPECT_EQ(d.train_x.size(0), 2);
  if (saved) ::setenv("FASTAI_HOME", saved->c_str(), 1);
  else ::unsetenv("FASTAI_HOME");
}

TEST(FashionMNISTReal, CountsTypesAndClassBalance) {
  const fs::path dir = "/usr/share/datasets/fashion-mnist";
  if (!fs::is_directory(dir))
    GTEST_SKIP() << dir << " is absent: `sudo apt-get install dataset-fashion-mnist` (or bash scripts/setup.sh)";
  fastai::FashionMNIST d = fastai::load_fashion_mnist(dir);
  EXPECT_EQ(d.train_x.sizes(), (std::vector<int64_t>{60000, 28, 28}));
  EXPECT_EQ(d.valid_x.sizes(), (std::vector<int64_t>{10000, 28, 28}));
  EXPECT_EQ(d.train_y.sizes(), (std::vector<int64_t>{60000}));
  EXPECT_EQ(d.valid_y.sizes(), (std::vector<int64_t>{10000}));
  EXPECT_EQ(d.train_x.scalar_type(), at::kByte);
  EXPECT_EQ(d.train_y.scalar_type(), at::kLong);
  EXPECT_EQ(d.train_y.min().item<int64_t>(), 0);
  EXPECT_EQ(d.train_y.max().item<int64_t>(), 9);
  EXPECT_EQ(d.valid_y.min().item<int64_t>(), 0);
  EXPECT_EQ(d.valid_y.max().item<int64_t>(), 9);
  at::Tensor ht = at::bincount(d.train_y, {}, 10);
  at::Tensor hv = at::bincount(d.valid_y, {}, 10);
  EXPECT_TRUE(at::equal(ht, at::full({10}, 6000, at::kLong))) << ht;
  EXPECT_TRUE(at::equal(hv, at::full({10}, 1000, at::kLong))) << hv;
  // Real images: not all blank, full 0..255 range used.
  EXPECT_EQ(d.train_x.max().item<int64_t>(), 255);
  EXPECT_EQ(d.train_x.min().item<int64_t>(), 0);
  EXPECT_GT(d.train_x.to(at::kFloat).mean().item<float>(), 50.f);
}

}  // namespace fastai_test_idx
