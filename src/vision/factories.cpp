// ImageDataLoaders (fastai.vision.data): DataBlocks with fastai's factory defaults.
#include "fastai/vision/factories.h"

#include "fastai/io/csv.h"
#include "fastai/core/error.h"
#include "fastai/io/col_reader.h"
#include "fastai/core/transforms.h"

#include <utility>

namespace fastai {

namespace image_factories_detail {

namespace fs = std::filesystem;

DataLoaders make_dls(DataBlockOptions b, const Item& source, const fs::path& path, const ImageDataLoadersOptions& o) {
  b.item_tfms = o.item_tfms;
  b.batch_tfms = o.batch_tfms;
  DataBlock db(std::move(b));
  return db.dataloaders(source, {.bs = o.bs, .val_bs = o.val_bs, .shuffle_train = o.shuffle, .device = o.device,
                                 .num_workers = o.num_workers, .seed = o.seed.value_or(0), .path = path.string()});
}

TransformBlock target_block(const ImageDataLoadersOptions& o, bool multi) {
  if (multi) return MultiCategoryBlock({.vocab = o.vocab});
  return CategoryBlock({.vocab = o.vocab});
}

Splitter random_split(const ImageDataLoadersOptions& o) { return RandomSplitter(o.valid_pct.value_or(0.2), o.seed); }

/// Items are the given file names (path / name); labels from get_y.
DataLoaders from_fnames(const fs::path& path, std::vector<fs::path> fnames, ItemFn get_y, const ImageDataLoadersOptions& o) {
  std::vector<fs::path> files;
  files.reserve(fnames.size());
  for (auto& f : fnames) files.push_back(path / f);
  DataBlockOptions b{.blocks = {ImageBlock(o.img_mode), target_block(o, false)},
                     .get_items = [files](const Item&) { return files; },
                     .get_y = std::move(get_y),
                     .splitter = random_split(o)};
  return make_dls(std::move(b), Item(path), path, o);
}

}  // namespace image_factories_detail


DataLoaders ImageDataLoaders::from_folder(const std::filesystem::path& path, ImageDataLoadersOptions o) {
  FA_CHECK(std::filesystem::is_directory(path), "ImageDataLoaders::from_folder: ", path.string(), " is not a folder");
  std::vector<std::string> folders;
  Splitter splitter;
  if (o.valid_pct) {
    splitter = image_factories_detail::random_split(o);
  } else {
    for (const auto& f : {o.train, o.valid})
      FA_CHECK(std::filesystem::is_directory(path / f), "ImageDataLoaders::from_folder: no folder ", (path / f).string(),
               " (set .train / .valid, or .valid_pct for a random split)");
    folders = {o.train, o.valid};
    splitter = GrandparentSplitter(o.train, o.valid);
  }
  DataBlockOptions b{.blocks = {ImageBlock(o.img_mode), image_factories_detail::target_block(o, false)},
                     .get_items = [folders](const std::filesystem::path& p) { return get_image_files(p, true, folders); },
                     .get_y = ItemFn(parent_label, "parent_label"),
                     .splitter = std::move(splitter)};
  return image_factories_detail::make_dls(std::move(b), Item(path), path, o);
}

DataLoaders ImageDataLoaders::from_name_func(const std::filesystem::path& path, std::vector<std::filesystem::path> fnames,
                                             std::function<std::string(const std::string&)> label_func,
                                             ImageDataLoadersOptions o) {
  FA_CHECK(label_func != nullptr, "ImageDataLoaders::from_name_func: label_func is empty");
  auto get_y = [f = std::move(label_func)](const std::filesystem::path& p) { return f(p.filename().string()); };
  return image_factories_detail::from_fnames(path, std::move(fnames), ItemFn(get_y, "label_func"), o);
}

DataLoaders ImageDataLoaders::from_path_func(const std::filesystem::path& path, std::vector<std::filesystem::path> fnames,
                                             std::function<std::string(const std::filesystem::path&)> label_func,
                                             ImageDataLoadersOptions o) {
  FA_CHECK(label_func != nullptr, "ImageDataLoaders::from_path_func: label_func is empty");
  return image_factories_detail::from_fnames(path, std::move(fnames), ItemFn(std::move(label_func), "label_func"), o);
}

DataLoaders ImageDataLoaders::from_name_re(const std::filesystem::path& path, std::vector<std::filesystem::path> fnames, const std::string& pat,
                                           ImageDataLoadersOptions o) {
  RegexLabeller re(pat);
  auto get_y = [re](const std::filesystem::path& p) { return re(p.filename()); };
  return image_factories_detail::from_fnames(path, std::move(fnames), ItemFn(get_y, "RegexLabeller"), o);
}

DataLoaders ImageDataLoaders::from_lists(const std::filesystem::path& path, std::vector<std::filesystem::path> fnames, std::vector<std::string> labels,
                                         ImageDataLoadersOptions o) {
  FA_CHECK(fnames.size() == labels.size(), "ImageDataLoaders::from_lists: ", fnames.size(), " file names but ",
           labels.size(), " labels");
  std::vector<std::string> names;
  names.reserve(fnames.size());
  for (auto& f : fnames) names.push_back((path / f).string());
  Table df({Column::from_strings("fname", std::move(names)), Column::from_strings("label", std::move(labels))});
  o.fn_col = 0;
  o.label_col = 1;
  o.folder = "";
  o.pref = "";
  o.suff = "";
  o.valid_col = std::nullopt;
  return from_df(df, "", std::move(o));
}

DataLoaders ImageDataLoaders::from_df(const Table& df, const std::filesystem::path& path, ImageDataLoadersOptions o) {
  FA_CHECK(o.fn_col < df.n_cols() && o.label_col < df.n_cols(), "ImageDataLoaders::from_df: fn_col ", o.fn_col,
           " / label_col ", o.label_col, " outside the table's ", df.n_cols(), " columns");
  std::string pref;
  if (!path.empty()) pref = ((o.folder.empty() ? path : path / o.folder) / "").string();
  pref += o.pref;
  const std::string& fn = df.column(o.fn_col).name();
  const std::string& lbl = df.column(o.label_col).name();
  Splitter splitter = image_factories_detail::random_split(o);
  if (o.valid_col) {
    (void)df[*o.valid_col];  // Error naming a missing column
    splitter = ColSplitter(*o.valid_col);
  }
  bool multi = o.label_delim.has_value();
  DataBlockOptions b{.blocks = {ImageBlock(o.img_mode), image_factories_detail::target_block(o, multi)},
                     .get_x = ItemFn(ColReader(fn, {.pref = pref, .suff = o.suff}), "ColReader"),
                     .get_y = ItemFn(ColReader(lbl, {.label_delim = o.label_delim}), "ColReader"),
                     .splitter = std::move(splitter)};
  return image_factories_detail::make_dls(std::move(b), Item(df), path.empty() ? std::filesystem::path(".") : path, o);
}

DataLoaders ImageDataLoaders::from_csv(const std::filesystem::path& path, const std::filesystem::path& csv_fname, ImageDataLoadersOptions o) {
  std::filesystem::path file = path / csv_fname;
  FA_CHECK(std::filesystem::exists(file), "ImageDataLoaders::from_csv: ", file.string(), " does not exist");
  return from_df(read_csv(file), path, std::move(o));
}

}  // namespace fastai
