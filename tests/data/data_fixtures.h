// Small generated datasets for the data-layer tests: items are indices, so every batch says
// where its samples came from.
#pragma once
#include "fastai/core/transforms.h"
#include "fastai/data/datasets.h"
#include "fastai/data/tfmd_dl.h"

#include <ATen/ATen.h>

#include <memory>
#include <string>
#include <vector>

namespace fastai::testing {

/// Items 0..n-1 (int64).
inline std::vector<Item> index_items(int64_t n) {
  std::vector<Item> v;
  for (int64_t i = 0; i < n; ++i) v.emplace_back(i);
  return v;
}

/// i -> TensorFloat [i, 2i] (its own semantic type, so transforms on it leave the labels alone).
inline std::shared_ptr<Transform> to_x() {
  auto t = std::make_shared<Transform>("ToX");
  t->encodes<int64_t>([](int64_t i) { return TensorFloat(at::tensor({static_cast<float>(i), static_cast<float>(2 * i)})); });
  return t;
}

/// i -> "c<i % k>" (a label).
inline std::shared_ptr<Transform> to_label(int64_t k = 3) {
  auto t = std::make_shared<Transform>("ToLabel");
  t->encodes<int64_t>([k](int64_t i) {
    std::string s(1, 'c');  // built with +=: GCC 12 warns falsely (-Wrestrict) on "c" + std::string
    s += std::to_string(i % k);
    return s;
  });
  return t;
}

/// Datasets over 0..n-1: x = [i, 2i], y = Categorize("c<i%3>"); `splits` as given.
inline Datasets index_datasets(int64_t n, Splits splits = {}) {
  return Datasets(index_items(n), {{to_x()}, {to_label(), std::make_shared<Categorize>()}}, {.splits = std::move(splits)});
}

/// A random training-only item transform: adds thread_rng().uniform() to x (tests determinism).
inline std::shared_ptr<Transform> jitter() {
  auto t = std::make_shared<Transform>("Jitter", 0, 0);
  t->encodes<TensorFloat>([](const TensorFloat& x) { return TensorFloat(x.data + thread_rng().uniform()); });
  return t;
}

/// Every batch of one epoch, as tensors.
inline std::vector<Batch> epoch(DataLoader& dl) {
  std::vector<Batch> out;
  for (Batch& b : dl) out.push_back(b);
  return out;
}

}  // namespace fastai::testing
