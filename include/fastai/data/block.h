// Blocks and the DataBlock API (fastai.data.block): blocks say how each element of a sample is
// typed and transformed; DataBlock adds where the items come from, how each element is read
// (getters), how they are split, and the item / batch transforms; summary() traces it step by step.
#pragma once
#include "fastai/core/transform.h"
#include "fastai/core/transforms.h"
#include "fastai/data/datasets.h"
#include "fastai/io/col_reader.h"
#include "fastai/data/splitters.h"
#include "fastai/data/tfmd_dl.h"

#include <filesystem>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace fastai {

namespace block_detail {
template <class F, class = void>
struct first_arg {
  using type = Item;  // generic lambdas and the like: called with the Item itself
};
template <class R, class A, class... Rest>
struct first_arg<R (*)(A, Rest...)> {
  using type = std::decay_t<A>;
};
template <class R, class A, class... Rest>
struct first_arg<R (&)(A, Rest...)> {
  using type = std::decay_t<A>;
};
template <class C, class R, class A, class... Rest>
struct first_arg<R (C::*)(A, Rest...) const> {
  using type = std::decay_t<A>;
};
template <class C, class R, class A, class... Rest>
struct first_arg<R (C::*)(A, Rest...)> {
  using type = std::decay_t<A>;
};
template <class F>
struct first_arg<F, std::void_t<decltype(&F::operator())>> : first_arg<decltype(&F::operator())> {};

/// x as an A: the stored value, with std::string <-> std::filesystem::path converted.
template <class A>
A item_as(const Item& x) {
  if constexpr (std::is_same_v<A, Item>) {
    return x;
  } else if constexpr (std::is_same_v<A, std::filesystem::path>) {
    if (!x.is<std::filesystem::path>() && x.is<std::string>()) return std::filesystem::path(x.get<std::string>());
    return x.get<A>();
  } else if constexpr (std::is_same_v<A, std::string>) {
    if (!x.is<std::string>() && x.is<std::filesystem::path>()) return x.get<std::filesystem::path>().string();
    return x.get<A>();
  } else {
    return x.get<A>();
  }
}
}  // namespace block_detail

/// A function of one item (fastai's getters and labellers: get_x, get_y, parent_label, ColReader,
/// RegexLabeller, lambdas). Takes any callable whose first parameter is `const Item&` or a concrete
/// type (path, std::string, TableRow, Tuple, ...; further parameters must have defaults) and whose
/// result is storable in an Item.
class ItemFn {
 public:
  ItemFn() = default;
  template <class F>
    requires(!std::is_same_v<std::decay_t<F>, ItemFn> && !std::is_same_v<std::decay_t<F>, std::nullptr_t>)
  ItemFn(F f, std::string name = "function") : name_(std::move(name)) {  // NOLINT(google-explicit-constructor)
    using D = std::decay_t<F>;
    using A = typename block_detail::first_arg<D>::type;
    fn_ = [f = D(std::move(f))](const Item& x) -> Item { return Item(f(block_detail::item_as<A>(x))); };
  }
  ItemFn(std::nullptr_t) {}  // NOLINT(google-explicit-constructor)
  Item operator()(const Item& x) const { return fn_(x); }
  explicit operator bool() const { return static_cast<bool>(fn_); }
  const std::string& name() const { return name_; }

 private:
  std::function<Item(const Item&)> fn_;
  std::string name_ = "function";
};

/// source -> items (fastai get_items: get_image_files, get_files, a lambda). Same argument rules as
/// ItemFn; the result may be a vector of anything storable in an Item.
class ItemsFn {
 public:
  ItemsFn() = default;
  template <class F>
    requires(!std::is_same_v<std::decay_t<F>, ItemsFn> && !std::is_same_v<std::decay_t<F>, std::nullptr_t>)
  ItemsFn(F f) {  // NOLINT(google-explicit-constructor)
    using D = std::decay_t<F>;
    using A = typename block_detail::first_arg<D>::type;
    fn_ = [f = D(std::move(f))](const Item& x) -> std::vector<Item> {
      auto r = f(block_detail::item_as<A>(x));
      std::vector<Item> out;
      out.reserve(r.size());
      for (auto& v : r) out.emplace_back(std::move(v));
      return out;
    };
  }
  ItemsFn(std::nullptr_t) {}  // NOLINT(google-explicit-constructor)
  std::vector<Item> operator()(const Item& x) const { return fn_(x); }
  explicit operator bool() const { return static_cast<bool>(fn_); }

 private:
  std::function<std::vector<Item>(const Item&)> fn_;
};

/// Wraps an ItemFn as a Transform (order 0, runs first in its pipeline): how getters join pipelines.
std::shared_ptr<Transform> getter_transform(ItemFn f);

/// How one element of a sample is typed and transformed (fastai TransformBlock).
struct TransformBlock {
  std::vector<std::shared_ptr<Transform>> type_tfms = {};   ///< raw element -> typed item
  std::vector<std::shared_ptr<Transform>> item_tfms = {};   ///< added to the loader's after_item
  std::vector<std::shared_ptr<Transform>> batch_tfms = {};  ///< added to the loader's after_batch
  std::vector<std::shared_ptr<Transform>> before_batch = {};///< fastai dls_kwargs before_batch (padding)
  DlFactory dl_type = nullptr;                              ///< a loader class the block needs
  std::string name = "TransformBlock";
};

/// Single-label classification target (fastai CategoryBlock): Categorize.
TransformBlock CategoryBlock(CategorizeOptions o = {});
struct MultiCategoryBlockOptions {
  bool encoded = false;                 ///< targets are already one-hot (EncodedMultiCategorize)
  std::vector<std::string> vocab = {};
  bool add_na = false;
};
/// Multi-label target (fastai MultiCategoryBlock): MultiCategorize + OneHotEncode.
TransformBlock MultiCategoryBlock(MultiCategoryBlockOptions o = {});
/// Float target(s) (fastai RegressionBlock): RegressionSetup.
TransformBlock RegressionBlock(std::optional<int64_t> n_out = std::nullopt);

struct DataBlockOptions {
  std::vector<TransformBlock> blocks = {};  ///< default {TransformBlock(), TransformBlock()}
  ItemsFn get_items = nullptr;              ///< source -> items (default: the source is the items / table rows)
  std::vector<ItemFn> getters = {};         ///< one per block (overrides get_x / get_y)
  ItemFn get_x = nullptr;                   ///< for each input block
  ItemFn get_y = nullptr;                   ///< for each target block
  Splitter splitter = nullptr;              ///< default RandomSplitter(0.2)
  std::vector<std::shared_ptr<Transform>> item_tfms = {};
  std::vector<std::shared_ptr<Transform>> batch_tfms = {};
  std::optional<int> n_inp = std::nullopt;  ///< default number of blocks - 1
  DlFactory dl_type = nullptr;
};

struct SummaryOptions {
  int64_t bs = 4;
  std::ostream* out = nullptr;  ///< nullptr: std::cout
};

/// fastai's DataBlock.
class DataBlock {
 public:
  explicit DataBlock(DataBlockOptions o = {});

  /// The items the source gives: get_items(source); without get_items a Tuple source is the items
  /// and a Table source gives one TableRow per row.
  std::vector<Item> get_items(const Item& source) const;
  /// Items, split, one pipeline per block (getter + type transforms), set up on the training split.
  /// Errors: no items; a split leaving the training or validation set empty (names the splitter's
  /// result and the number of items); a transform failing in setup (names it and the block).
  Datasets datasets(const Item& source) const;
  /// datasets(source) then fastai's dataloaders(): item_tfms (ToTensor + blocks' + user's) in
  /// after_item, batch_tfms in after_batch. Fields of `o` other than the tfms are used as given.
  DataLoaders dataloaders(const Item& source, DataLoadersOptions o = {}) const;
  /// Prints a step-by-step trace (items found, split sizes, each transform's input and output on
  /// one sample, each batch step) to o.out and returns it. When a step fails, the trace ends with
  /// the failing step, the item (index and raw value), its type and the message, and an Error with
  /// the same text is thrown.
  std::string summary(const Item& source, SummaryOptions o = {}) const;
  /// The same block with other item / batch transforms (fastai new).
  DataBlock new_tfms(std::vector<std::shared_ptr<Transform>> item_tfms,
                     std::vector<std::shared_ptr<Transform>> batch_tfms) const;

  const DataBlockOptions& options() const { return o_; }
  int n_inp() const { return n_inp_; }
  /// The pipelines' transforms (getter + type transforms), one list per block.
  std::vector<std::vector<std::shared_ptr<Transform>>> type_tfms() const;
  /// after_item transforms: ToTensor, the blocks', then the user's (same name: the later one wins).
  std::vector<std::shared_ptr<Transform>> item_tfms() const;
  std::vector<std::shared_ptr<Transform>> batch_tfms() const;
  std::vector<std::shared_ptr<Transform>> before_batch() const;

 private:
  Splits split(const std::vector<Item>& items) const;
  DataBlockOptions o_;
  int n_inp_ = 1;
};

}  // namespace fastai
