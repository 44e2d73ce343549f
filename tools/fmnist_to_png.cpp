// Writes Fashion-MNIST as 28x28 grey PNG files in an ImageNet-style tree, the layout fastai's
// image datasets use (and what get_image_files + parent_label + GrandparentSplitter read):
//
//   <out>/train/<class>/<index>.png   the 60000 training images
//   <out>/valid/<class>/<index>.png   the 10000 test images
//
//   fmnist_to_png [--out DIR] [--limit N] [--threads N] [--data DIR]
//
// --out defaults to $FASTAI_HOME/data/fashion_mnist_png; --limit N keeps the first N images of
// each split; --data is the IDX folder (default: load_fashion_mnist's). The tree is written into
// <out>.tmp and renamed when complete, so an interrupted run never leaves half a dataset; a
// marker file (<out>/.complete) records the counts, and a run that finds them matching does nothing.
#include <fastai/core/error.h>
#include <fastai/core/files.h>
#include <fastai/data/idx.h>
#include <fastai/vision/image.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace fmnist_to_png_detail {

namespace fs = std::filesystem;

// Folder-safe class names, indexed by label.
const char* const kClasses[10] = {"T-shirt_top", "Trouser", "Pullover", "Dress", "Coat",
                                  "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle_boot"};

struct Args {
  fs::path out;
  fs::path data;
  int64_t limit = 0;  // 0: all
  int threads = 0;    // 0: hardware threads
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto val = [&]() -> std::string {
      FA_CHECK(i + 1 < argc, "fmnist_to_png: ", k, " needs a value");
      return argv[++i];
    };
    auto num = [&](const std::string& v) -> int64_t {
      try {
        size_t used = 0;
        const long long n = std::stoll(v, &used);
        if (used == v.size() && n >= 0) return n;
      } catch (const std::exception&) {
      }
      fastai::fail("fmnist_to_png: ", k, " expects a non-negative integer, got ", fastai::quote_value(v));
    };
    if (k == "--out") a.out = val();
    else if (k == "--data") a.data = val();
    else if (k == "--limit") a.limit = num(val());
    else if (k == "--threads") a.threads = static_cast<int>(num(val()));
    else if (k == "-h" || k == "--help") {
      std::cout << "usage: fmnist_to_png [--out DIR] [--limit N] [--threads N] [--data DIR]\n";
      std::exit(0);
    } else {
      fastai::fail("fmnist_to_png: unknown option ", fastai::quote_value(k),
                   " (options: --out DIR, --limit N, --threads N, --data DIR)");
    }
  }
  if (a.out.empty()) a.out = fastai::fastai_home() / "data" / "fashion_mnist_png";
  if (a.threads <= 0) a.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return a;
}

std::string marker_text(int64_t n_train, int64_t n_valid) {
  std::ostringstream s;
  s << "fashion_mnist_png train=" << n_train << " valid=" << n_valid << "\n";
  return s.str();
}

std::string read_text(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

void write_bytes(const fs::path& p, const std::vector<uint8_t>& b) {
  std::FILE* f = std::fopen(p.c_str(), "wb");
  FA_CHECK(f, "fmnist_to_png: cannot create ", p, ": ", std::strerror(errno));
  const size_t put = std::fwrite(b.data(), 1, b.size(), f);
  const bool ok = std::fclose(f) == 0 && put == b.size();
  FA_CHECK(ok, "fmnist_to_png: cannot write ", p, ": ", std::strerror(errno));
}

// Writes images x[0..n) with labels y into dir/<class>/<i>.png on `threads` threads.
void write_split(const std::string& split, const at::Tensor& x, const at::Tensor& y, int64_t n, const fs::path& dir,
                 int threads) {
  for (const char* c : kClasses) fs::create_directories(dir / c);
  const at::Tensor yc = y.contiguous();
  const auto* labels = yc.data_ptr<int64_t>();
  std::atomic<int64_t> next{0}, done{0};
  std::atomic<bool> stop{false};
  std::exception_ptr err;
  std::mutex mu;
  int64_t reported = 0;
  auto work = [&] {
    try {
      for (int64_t i; !stop && (i = next++) < n;) {
        const auto bytes = fastai::encode_image(x[i], "png");
        write_bytes(dir / kClasses[labels[i]] / (std::to_string(i) + ".png"), bytes);
        const int64_t d = ++done;
        if (d * 10 / n != (d - 1) * 10 / n || d == n) {
          std::lock_guard lock(mu);
          if (d > reported) {
            reported = d;
            std::cout << "  " << split << ": " << d << "/" << n << "\n" << std::flush;
          }
        }
      }
    } catch (...) {
      std::lock_guard lock(mu);
      if (!err) err = std::current_exception();
      stop = true;
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(work);
  for (auto& t : pool) t.join();
  if (err) std::rethrow_exception(err);
}

int run(int argc, char** argv) {
  const Args a = parse(argc, argv);
  const auto t0 = std::chrono::steady_clock::now();
  const fs::path marker = a.out / ".complete";

  auto ds = fastai::load_fashion_mnist(a.data);
  auto cap = [&](int64_t n) { return a.limit > 0 && a.limit < n ? a.limit : n; };
  const int64_t n_train = cap(ds.train_x.size(0)), n_valid = cap(ds.valid_x.size(0));
  const std::string want = marker_text(n_train, n_valid);

  std::error_code ec;
  if (fs::exists(marker, ec) && read_text(marker) == want) {
    std::cout << "fmnist_to_png: " << a.out << " is already complete (" << n_train << " train + " << n_valid
              << " valid images); nothing to do\n";
    return 0;
  }
  // Never delete a folder this tool did not write: an existing <out> must hold our marker or be empty.
  const bool exists = fs::exists(a.out, ec);
  if (exists) {
    const bool ours = fs::exists(marker, ec) ? read_text(marker).rfind("fashion_mnist_png", 0) == 0
                                             : fs::is_directory(a.out, ec) && fs::is_empty(a.out, ec);
    FA_CHECK(ours, "fmnist_to_png: ", a.out, " exists but is not a tree written by fmnist_to_png (no ", marker,
             "); remove it or pass another --out");
  }
  fs::path tmp = a.out;
  tmp += ".tmp";
  fs::remove_all(tmp, ec);
  FA_CHECK(!ec, "fmnist_to_png: cannot remove the leftover ", tmp, ": ", ec.message());
  std::cout << "fmnist_to_png: writing " << n_train << " train + " << n_valid << " valid PNG images to " << a.out
            << " (" << a.threads << " threads)\n";
  write_split("train", ds.train_x, ds.train_y, n_train, tmp / "train", a.threads);
  write_split("valid", ds.valid_x, ds.valid_y, n_valid, tmp / "valid", a.threads);
  {
    std::ofstream m(tmp / ".complete", std::ios::binary);
    m << want;
    FA_CHECK(m.good(), "fmnist_to_png: cannot write ", tmp / ".complete");
  }
  if (exists) {
    std::cout << "fmnist_to_png: replacing the incomplete or different " << a.out << "\n";
    fs::remove_all(a.out, ec);
    FA_CHECK(!ec, "fmnist_to_png: cannot remove the old ", a.out, ": ", ec.message());
  }
  if (a.out.has_parent_path()) fs::create_directories(a.out.parent_path());
  fs::rename(tmp, a.out, ec);
  FA_CHECK(!ec, "fmnist_to_png: cannot rename ", tmp, " to ", a.out, ": ", ec.message());
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("fmnist_to_png: done: %lld images in %.2f s (%s)\n", static_cast<long long>(n_train + n_valid), secs,
              fastai::format_time(secs).c_str());
  return 0;
}

}  // namespace fmnist_to_png_detail

int main(int argc, char** argv) {
  try {
    return fmnist_to_png_detail::run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
