// fastai.tabular.core's procs: Categorify, FillMissing and Normalize, run eagerly over a whole
// Table by TabularPandas. Each learns its state on the training rows only (setup), then encodes
// every row; the state is JSON (for export) and a proc can decode what it encoded (show_batch,
// predict). Procs run in fastai's order whatever order the user lists them in:
// FillMissing (0) -> Categorify (1) -> Normalize (99).
#pragma once
#include "fastai/io/table.h"

#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace fastai {

class Normalize;

/// The column roles a proc reads and may extend (FillMissing adds "<col>_na" to cat_names).
struct TabularNames {
  std::vector<std::string> cat_names, cont_names;
};

/// A tabular preprocessing step (fastai TabularProc).
class TabularProc {
 public:
  virtual ~TabularProc() = default;
  /// The class name ("Categorify", "FillMissing", "Normalize"): what from_state knows it by.
  virtual std::string name() const = 0;
  /// Pipeline order (fastai: FillMissing 0, Categorify 1, Normalize 99).
  virtual int order() const = 0;
  /// Learns the state from `train` (the training rows, already through the earlier procs); may
  /// extend `names`. Errors name the column and row.
  virtual void setup(const Table& train, TabularNames& names) = 0;
  /// Applies the learned state to every row of `df` (training, validation or new rows).
  virtual void encode(Table& df) const = 0;
  /// Undoes encode where it can (Categorify: codes -> labels; Normalize: back to the raw scale).
  virtual void decode(Table& df) const = 0;
  virtual nlohmann::json state() const = 0;
  virtual void load_state(const nlohmann::json& s) = 0;
  /// A proc from its name and state (what an export stores); Error naming an unknown name.
  static std::shared_ptr<TabularProc> from_state(const std::string& name, const nlohmann::json& s);
};

/// fastai Categorify options: `classes` gives a column's categories (used as given, in that
/// order, after "#na#") instead of learning them.
struct CategorifyOptions {
  std::map<std::string, std::vector<std::string>> classes = {};
};

/// Categorical columns -> int64 codes (fastai Categorify, order 1). Per column the categories are
/// the sorted distinct training values ("#na#" first, at code 0); a missing or never-seen value
/// gets code 0. Numbers sort numerically and are matched by their printed text.
class Categorify : public TabularProc {
 public:
  explicit Categorify(CategorifyOptions o = {}) : o_(std::move(o)) {}
  std::string name() const override { return "Categorify"; }
  int order() const override { return 1; }
  void setup(const Table& train, TabularNames& names) override;
  void encode(Table& df) const override;
  void decode(Table& df) const override;
  nlohmann::json state() const override;
  void load_state(const nlohmann::json& s) override;
  /// The categories of each column, "#na#" first (fastai to.classes).
  const std::map<std::string, std::vector<std::string>>& classes() const { return classes_; }
  /// The code of `value` in column `col` (0 for an unseen value); Error for an unknown column.
  int64_t code(const std::string& col, const std::string& value) const;

 private:
  CategorifyOptions o_;
  std::vector<std::string> cols_;
  std::map<std::string, std::vector<std::string>> classes_;
  std::map<std::string, std::map<std::string, int64_t>> o2i_;
};

/// How FillMissing picks the value (fastai FillStrategy).
enum class FillStrategy { Median, Constant, Mode };

struct FillMissingOptions {
  FillStrategy fill_strategy = FillStrategy::Median;
  bool add_col = true;                              ///< add a boolean "<col>_na" categorical column
  std::map<std::string, double> fill_vals = {};     ///< Constant: value per column (default 0)
};

/// Missing continuous values (fastai FillMissing, order 0): only columns with missing values in
/// the training rows are handled, filled with the training median (or constant / mode). A
/// missing value in another continuous column is an Error naming the column and row (fastai
/// asserts the same).
class FillMissing : public TabularProc {
 public:
  explicit FillMissing(FillMissingOptions o = {}) : o_(std::move(o)) {}
  std::string name() const override { return "FillMissing"; }
  int order() const override { return 0; }
  void setup(const Table& train, TabularNames& names) override;
  void encode(Table& df) const override;
  void decode(Table&) const override {}
  nlohmann::json state() const override;
  void load_state(const nlohmann::json& s) override;
  /// Column -> the value it is filled with (fastai na_dict).
  const std::map<std::string, double>& na_dict() const { return na_dict_; }

 private:
  FillMissingOptions o_;
  std::vector<std::string> conts_;
  std::map<std::string, double> na_dict_;
};

/// Continuous columns -> (x - mean) / std with training statistics, std with ddof 0 plus 1e-7
/// (fastai's tabular Normalize, order 99). Decodes back.
class NormalizeTab : public TabularProc {
 public:
  std::string name() const override { return "Normalize"; }
  int order() const override { return 99; }
  void setup(const Table& train, TabularNames& names) override;
  void encode(Table& df) const override;
  void decode(Table& df) const override;
  nlohmann::json state() const override;
  void load_state(const nlohmann::json& s) override;
  const std::map<std::string, double>& means() const { return means_; }
  const std::map<std::string, double>& stds() const { return stds_; }

 private:
  std::vector<std::string> conts_;
  std::map<std::string, double> means_, stds_;
};

/// One entry of a procs list: Categorify(), FillMissing(), Normalize() (the data layer's
/// Normalize stands for the tabular one here, as fastai's type dispatch does), or any proc.
class ProcRef {
 public:
  ProcRef(const Categorify& p) : p_(std::make_shared<Categorify>(p)) {}
  ProcRef(const FillMissing& p) : p_(std::make_shared<FillMissing>(p)) {}
  ProcRef(const NormalizeTab& p) : p_(std::make_shared<NormalizeTab>(p)) {}
  ProcRef(const Normalize&) : p_(std::make_shared<NormalizeTab>()) {}
  ProcRef(std::shared_ptr<TabularProc> p) : p_(std::move(p)) {}
  const std::shared_ptr<TabularProc>& get() const { return p_; }

 private:
  std::shared_ptr<TabularProc> p_;
};

}  // namespace fastai
