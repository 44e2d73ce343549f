// Splitters (fastai.data.transforms): functions from the collected items to index lists
// {train, valid}. Seeded ones are deterministic for a given seed; without a seed they draw one
// from the global RNG (set_seed makes them reproducible, as torch.manual_seed does in fastai).
#pragma once
#include "fastai/core/types.h"
#include "fastai/data/datasets.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace fastai {

/// items -> {train indices, valid indices} (fastai's splitter functions).
using Splitter = std::function<Splits(const std::vector<Item>& items)>;

/// Shuffles 0..n-1 with `seed` (nullopt: drawn from the global RNG at each call) and puts the first
/// int(valid_pct * n) in the validation set (fastai RandomSplitter(valid_pct=0.2, seed=None)).
/// Returns {p[cut:], p[:cut]} of the permutation p, which is torch.randperm(n)'s after
/// torch.manual_seed(seed) (a LibTorch CPU generator seeded with `seed`): the same split as fastai's
/// for the same seed. Error when valid_pct is outside [0, 1].
Splitter RandomSplitter(double valid_pct = 0.2, std::optional<uint64_t> seed = std::nullopt);

/// TrainTestSplitter options (sklearn train_test_split's parameters, as fastai passes them).
struct TrainTestSplitterOptions {
  double test_size = 0.2;                            ///< fraction of the items in the validation set
  std::optional<uint64_t> random_state = std::nullopt;
  /// Labels to stratify by, one per item (empty: not stratified). The class proportions of both
  /// sets then match the whole within one item per class (sklearn's allocation).
  std::vector<std::string> stratify = {};
  bool shuffle = true;                               ///< false: the last items are the validation set
};
/// sklearn's train_test_split sizes: n_test = ceil(test_size * n), n_train = n - n_test; stratified
/// by class when `stratify` is given (fastai TrainTestSplitter): per-class counts as sklearn's
/// StratifiedShuffleSplit allocates them (_approximate_mode; classes that tie for the last places
/// are picked at random, as there). The permutation is ours (fastai's Rng), not numpy's, so the
/// members of each set differ from sklearn's for the same random_state. Errors, as sklearn's:
/// test_size outside (0, 1), an empty training set, a class with one item, fewer items in a set than
/// classes, stratify of another length than the items, stratify without shuffle.
Splitter TrainTestSplitter(TrainTestSplitterOptions o = {});

/// Items at `valid_idx` are the validation set (in the given order), the rest, sorted, training
/// (fastai IndexSplitter). Error naming an index out of range.
Splitter IndexSplitter(std::vector<int64_t> valid_idx);

/// The last (or first) int(valid_pct * n) items as validation, in order (fastai EndSplitter; when
/// that is 0 every item is training, where fastai's idxs[-0:] would put all in validation). Error
/// when valid_pct is outside [0, 1].
Splitter EndSplitter(double valid_pct = 0.2, bool valid_last = true);

/// Paths whose grandparent folder is named `train_name` / `valid_name` (fastai GrandparentSplitter);
/// items under neither are in neither set. Items must be paths (Error naming the item otherwise).
Splitter GrandparentSplitter(std::string train_name = "train", std::string valid_name = "valid");

/// Items for which `f` is true are the validation set (fastai FuncSplitter).
Splitter FuncSplitter(std::function<bool(const Item&)> f);

/// mask[i] true: item i is in the validation set (fastai MaskSplitter). Error when the mask's
/// length differs from the number of items.
Splitter MaskSplitter(std::vector<bool> mask);

/// The file lists validation file names, one per line; items (paths) whose file name is listed
/// are the validation set (fastai FileSplitter). Error naming the file when it cannot be read.
Splitter FileSplitter(std::filesystem::path fname);

/// Items are table rows (TableRow); rows whose column `col` is true (bool, non-zero number, or the
/// text "true"/"True"/"TRUE"/"1") are the validation set (fastai ColSplitter(col='is_valid')).
/// Missing values count as false, as does the text "false"/"False"/"FALSE"/"0"/"". Error naming the
/// column when it is missing, a row is not a TableRow, or a text cell is none of those.
Splitter ColSplitter(std::string col = "is_valid");

/// Random subsets of the given fractions: train the first int(train_sz * n) of a permutation, valid
/// the next int(valid_sz * n) (fastai RandomSubsetSplitter; the permutation is RandomSplitter's).
/// Error when a fraction is outside [0, 1] or they add up to more than 1.
Splitter RandomSubsetSplitter(double train_sz, double valid_sz, std::optional<uint64_t> seed = std::nullopt);

}  // namespace fastai
