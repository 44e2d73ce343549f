#include "fastai/data/block.h"

#include "fastai/core/error.h"
#include "fastai/io/col_reader.h"
#include "fastai/io/table.h"

#include <utility>

namespace fastai {
namespace block_impl_detail {

// A getter in a pipeline: gets the whole raw item (a tuple too), like fastai's function transforms.
class GetterTransform : public ItemTransform {
 public:
  explicit GetterTransform(ItemFn f) : ItemTransform(f.name()), f_(std::move(f)) {}

 protected:
  Item encodes_item(const Item& x) const override { return f_(x); }

 private:
  ItemFn f_;
};

// fastai _merge_tfms: a later transform with the same name replaces an earlier one in its place.
std::vector<std::shared_ptr<Transform>> merge(const std::vector<std::vector<std::shared_ptr<Transform>>>& lists) {
  std::vector<std::shared_ptr<Transform>> out;
  for (const auto& l : lists)
    for (const auto& t : l) {
      FA_CHECK(t != nullptr, "DataBlock: a transform in item_tfms / batch_tfms is null");
      bool replaced = false;
      for (auto& o : out)
        if (o->name() == t->name()) {
          o = t;
          replaced = true;
        }
      if (!replaced) out.push_back(t);
    }
  return out;
}

ItemFn named(ItemFn f, const std::string& name) {
  if (!f || f.name() != "function") return f;
  return ItemFn([f](const Item& x) { return f(x); }, name);
}

}  // namespace block_impl_detail

std::shared_ptr<Transform> getter_transform(ItemFn f) {
  FA_CHECK(static_cast<bool>(f), "getter_transform: the getter is empty");
  return std::make_shared<block_impl_detail::GetterTransform>(std::move(f));
}

TransformBlock CategoryBlock(CategorizeOptions o) {
  return TransformBlock{.type_tfms = {std::make_shared<Categorize>(std::move(o))}, .name = "CategoryBlock"};
}

TransformBlock MultiCategoryBlock(MultiCategoryBlockOptions o) {
  TransformBlock b{.name = "MultiCategoryBlock"};
  if (o.encoded) {
    b.type_tfms = {std::make_shared<EncodedMultiCategorize>(std::move(o.vocab))};
  } else {
    b.type_tfms = {std::make_shared<MultiCategorize>(std::move(o.vocab), o.add_na), std::make_shared<OneHotEncode>()};
  }
  return b;
}

TransformBlock RegressionBlock(std::optional<int64_t> n_out) {
  return TransformBlock{.type_tfms = {std::make_shared<RegressionSetup>(n_out)}, .name = "RegressionBlock"};
}

DataBlock::DataBlock(DataBlockOptions o) : o_(std::move(o)) {
  if (o_.blocks.empty()) o_.blocks = {TransformBlock{}, TransformBlock{}};
  const auto nb = static_cast<int>(o_.blocks.size());
  n_inp_ = o_.n_inp.value_or(std::max(1, nb - 1));
  FA_CHECK(n_inp_ >= 1 && n_inp_ <= nb, "DataBlock: n_inp must be in [1, ", nb, "] (the number of blocks), got ", n_inp_);
  if (!o_.getters.empty()) {
    FA_CHECK(o_.getters.size() == o_.blocks.size(), "DataBlock: ", o_.getters.size(), " getters for ", nb,
             " blocks; expected one getter per block");
    FA_CHECK(!o_.get_x && !o_.get_y, "DataBlock: pass either getters or get_x / get_y, not both");
  }
}

std::vector<std::vector<std::shared_ptr<Transform>>> DataBlock::type_tfms() const {
  std::vector<std::vector<std::shared_ptr<Transform>>> out;
  for (size_t i = 0; i < o_.blocks.size(); ++i) {
    std::vector<std::shared_ptr<Transform>> l;
    ItemFn g;
    if (!o_.getters.empty()) {
      g = block_impl_detail::named(o_.getters[i], "getters[" + std::to_string(i) + "]");
    } else if (static_cast<int>(i) < n_inp_) {
      g = block_impl_detail::named(o_.get_x, "get_x");
    } else {
      g = block_impl_detail::named(o_.get_y, "get_y");
    }
    if (g) l.push_back(getter_transform(g));
    for (const auto& t : o_.blocks[i].type_tfms) {
      FA_CHECK(t != nullptr, "DataBlock: block ", i, " (", o_.blocks[i].name, ") has a null type transform");
      l.push_back(t);
    }
    out.push_back(std::move(l));
  }
  return out;
}

std::vector<std::shared_ptr<Transform>> DataBlock::item_tfms() const {
  std::vector<std::vector<std::shared_ptr<Transform>>> lists{{std::make_shared<ToTensor>()}};
  for (const auto& b : o_.blocks) lists.push_back(b.item_tfms);
  lists.push_back(o_.item_tfms);
  return block_impl_detail::merge(lists);
}

std::vector<std::shared_ptr<Transform>> DataBlock::batch_tfms() const {
  std::vector<std::vector<std::shared_ptr<Transform>>> lists;
  for (const auto& b : o_.blocks) lists.push_back(b.batch_tfms);
  lists.push_back(o_.batch_tfms);
  return block_impl_detail::merge(lists);
}

std::vector<std::shared_ptr<Transform>> DataBlock::before_batch() const {
  std::vector<std::vector<std::shared_ptr<Transform>>> lists;
  for (const auto& b : o_.blocks) lists.push_back(b.before_batch);
  return block_impl_detail::merge(lists);
}

std::vector<Item> DataBlock::get_items(const Item& source) const {
  if (o_.get_items) {
    try {
      return o_.get_items(source);
    } catch (const std::exception& e) {
      std::string m = e.what();
      m += "\n  in DataBlock get_items, on the source ";
      m += quote_value(describe(source), 200);
      throw Error(m);
    }
  }
  if (source.is<Tuple>()) return source.get<Tuple>();
  if (source.is<Table>()) {
    std::vector<Item> items;
    for (auto& r : table_rows(source.get<Table>())) items.emplace_back(std::move(r));
    return items;
  }
  auto all = [](const auto& v) { return std::vector<Item>(v.begin(), v.end()); };
  if (source.is<std::vector<std::filesystem::path>>()) return all(source.get<std::vector<std::filesystem::path>>());
  if (source.is<std::vector<std::string>>()) return all(source.get<std::vector<std::string>>());
  if (source.is<std::vector<int64_t>>()) return all(source.get<std::vector<int64_t>>());
  fail("DataBlock: no get_items and the source is a ", source.type_name(), " (", quote_value(describe(source), 80),
       "); expected a list of items (Tuple, vector of paths/strings/ints) or a Table, or pass get_items "
       "(e.g. get_image_files)");
}

Splits DataBlock::split(const std::vector<Item>& items) const {
  Splits s;
  try {
    s = o_.splitter ? o_.splitter(items) : RandomSplitter(0.2)(items);
  } catch (const std::exception& e) {
    std::string m = e.what();
    m += "\n  in DataBlock splitter, on ";
    m += std::to_string(items.size());
    m += " items";
    throw Error(m);
  }
  const size_t n = items.size();
  FA_CHECK(s.size() >= 2, "DataBlock: the splitter returned ", s.size(),
           " index lists; expected {train, valid} (two lists)");
  FA_CHECK(!s[0].empty(), "DataBlock: the splitter put no item in the training set (", n, " items: train 0, valid ",
           s[1].size(), "); expected at least one training item");
  FA_CHECK(!s[1].empty(), "DataBlock: the splitter left the validation set empty (", n, " items: train ", s[0].size(),
           ", valid 0); expected at least one validation item (raise valid_pct, or check the splitter: e.g. "
           "GrandparentSplitter needs a 'valid' folder)");
  return s;
}

Datasets DataBlock::datasets(const Item& source) const {
  auto items = get_items(source);
  FA_CHECK(!items.empty(), "DataBlock: get_items found no items in ", quote_value(describe(source), 200),
           "; expected at least one (check the path and the file extensions)");
  auto splits = split(items);
  return Datasets(std::move(items), type_tfms(), {.splits = std::move(splits), .n_inp = n_inp_});
}

DataLoaders DataBlock::dataloaders(const Item& source, DataLoadersOptions o) const {
  auto dsets = datasets(source);
  o.after_item = block_impl_detail::merge({item_tfms(), o.after_item});
  o.before_batch = block_impl_detail::merge({before_batch(), o.before_batch});
  o.after_batch = block_impl_detail::merge({batch_tfms(), o.after_batch});
  if (!o.dl_type) {
    o.dl_type = o_.dl_type;
    for (const auto& b : o_.blocks)
      if (b.dl_type) o.dl_type = b.dl_type;
  }
  return dataloaders_from(dsets, std::move(o));
}

DataBlock DataBlock::new_tfms(std::vector<std::shared_ptr<Transform>> item_tfms,
                              std::vector<std::shared_ptr<Transform>> batch_tfms) const {
  DataBlockOptions o = o_;
  o.item_tfms = std::move(item_tfms);
  o.batch_tfms = std::move(batch_tfms);
  return DataBlock(std::move(o));
}

}  // namespace fastai
