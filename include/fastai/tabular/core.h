// fastai's TabularPandas over the project's Table: column roles (categorical, continuous,
// targets), the split, and the procs run eagerly in fastai's order with state learned on the
// training rows only. Gives the model's tensors (cats int64, conts float, ys) for any rows,
// processes new raw rows with the learned state (test_dl, predict) and decodes tensors back to
// readable rows (show_batch). Its whole state is JSON, for export.
#pragma once
#include "fastai/io/table.h"
#include "fastai/tabular/procs.h"

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

namespace fastai {

/// The target's kind (fastai y_block): Auto = CategoryBlock when any target column is not
/// numeric, else RegressionBlock (fastai's rule).
enum class YBlock { Auto, Category, Regression };

struct TabularOptions {
  std::vector<ProcRef> procs = {};               ///< run in fastai's order whatever the list order
  std::vector<std::string> cat_names = {};
  std::vector<std::string> cont_names = {};
  std::vector<std::string> y_names = {};         ///< empty: no target (inference tables)
  YBlock y_block = YBlock::Auto;
  /// {train rows, valid rows}; empty: every row is a training row and there is no validation set.
  std::vector<std::vector<int64_t>> splits = {};
};

/// The model's tensors for some rows: cats int64 [n, n_cat], conts float [n, n_cont], ys
/// (category: int64 [n]; regression: float [n, n_y]; undefined without targets).
struct TabularTensors {
  at::Tensor cats, conts, ys;
};

/// fastai TabularPandas. Errors name the column and row: unknown column names (with a "did you
/// mean"), a column in two roles, an empty table, text that is not a number in a continuous
/// column, a missing or non-numeric regression target, a missing category target, a validation
/// label never seen in training, a categorical column left as text without Categorify.
class TabularPandas {
 public:
  TabularPandas(const Table& df, TabularOptions o = {});

  /// The processed table (original row order; procs applied; targets encoded).
  const Table& items() const { return items_; }
  const std::vector<std::string>& cat_names() const { return names_.cat_names; }  ///< incl. FillMissing's "_na"
  const std::vector<std::string>& cont_names() const { return names_.cont_names; }
  /// The categorical columns raw rows must have (cat_names without FillMissing's "_na" columns).
  const std::vector<std::string>& input_cat_names() const { return input_cats_; }
  const std::vector<std::string>& y_names() const { return y_names_; }
  const std::vector<int64_t>& train_idx() const { return train_; }
  const std::vector<int64_t>& valid_idx() const { return valid_; }
  /// The procs in the order they ran.
  const std::vector<std::shared_ptr<TabularProc>>& procs() const { return procs_; }

  /// Whether the target is categorical (decided at construction or by y_block).
  bool y_is_category() const { return y_category_; }
  /// The categorical target's labels, sorted (fastai dls.vocab); empty for regression.
  const std::vector<std::string>& vocab() const { return y_vocab_; }
  /// Number of model outputs: the vocab size, or the number of regression targets.
  int64_t c() const { return y_category_ ? static_cast<int64_t>(y_vocab_.size()) : static_cast<int64_t>(y_names_.size()); }
  /// Categories of each categorical column, "#na#" first (fastai to.classes); from Categorify.
  std::map<std::string, std::vector<std::string>> classes() const;

  /// Tensors of the processed rows `rows` (all_rows(), train_idx(), valid_idx() or any subset).
  TabularTensors tensors(const std::vector<int64_t>& rows) const;
  std::vector<int64_t> all_rows() const;

  /// New raw rows through the learned state (fastai to.new(df) + process): the columns of the
  /// roles must be there (targets only when `with_y`); returns their tensors.
  TabularTensors process(const Table& raw, bool with_y = false) const;
  /// Tensors back to a readable table: categorical labels, continuous values on the raw scale,
  /// and the target (label or value) when `ys` is defined; columns cat, cont, then y.
  Table decode(const at::Tensor& cats, const at::Tensor& conts, const at::Tensor& ys = {}) const;
  /// A target prediction decoded: the label of a class index, or the value as text.
  std::string decode_y(const at::Tensor& y) const;

  /// Everything needed to process and decode rows later (names, procs' state, target vocab).
  nlohmann::json state() const;
  /// A TabularPandas with no rows from state() (inference after export).
  static TabularPandas from_state(const nlohmann::json& s);

 private:
  TabularPandas() = default;
  Table prepare(const Table& raw, bool with_y) const;  // role columns, conts as float64
  void encode_y(Table& df) const;
  TabularTensors tensors_of(const Table& df, const std::vector<int64_t>& rows, bool with_y) const;

  Table items_;
  std::vector<std::string> input_cats_;  // the user's cat_names (without FillMissing's "_na" columns)
  TabularNames names_;
  std::vector<std::string> y_names_;
  std::vector<int64_t> train_, valid_;
  std::vector<std::shared_ptr<TabularProc>> procs_;
  bool y_category_ = false;
  std::vector<std::string> y_vocab_;
};

/// Splits the columns of `df` into continuous and categorical names (fastai cont_cat_split):
/// float columns, and integer columns with more than `max_card` distinct values, are continuous;
/// everything else categorical; `dep_var` is left out of both.
std::pair<std::vector<std::string>, std::vector<std::string>> cont_cat_split(const Table& df, int64_t max_card = 20,
                                                                            const std::vector<std::string>& dep_var = {});

/// Replaces the date column `field` ("YYYY-MM-DD", optionally followed by " HH:MM[:SS]" or "T...")
/// with fastai's add_datepart columns <prefix>Year, Month, Week (ISO), Day, Dayofweek (Monday 0),
/// Dayofyear, Is_month_end, Is_month_start, Is_quarter_end, Is_quarter_start, Is_year_end,
/// Is_year_start (+ Hour, Minute, Second when `time`) and Elapsed (seconds since 1970-01-01,
/// UTC). Missing dates stay
/// missing; text that is not a date is an Error naming the column, row and text.
struct DatepartOptions {
  std::optional<std::string> prefix = std::nullopt;  ///< default: the field name minus "date"/"Date"
  bool drop = true;                                  ///< drop the date column
  bool time = false;                                 ///< also Hour, Minute, Second
};
Table add_datepart(const Table& df, const std::string& field, DatepartOptions o = {});

}  // namespace fastai
