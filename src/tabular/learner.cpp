#include "fastai/tabular/learner.h"

#include "fastai/core/error.h"

#include <ATen/ATen.h>

#include <algorithm>

namespace fastai {

std::vector<EmbSz> get_emb_sz(const TabularPandas& to, const std::map<std::string, int64_t>& sz_dict) {
  auto classes = to.classes();
  for (const auto& [col, sz] : sz_dict) {
    FA_CHECK(std::find(to.cat_names().begin(), to.cat_names().end(), col) != to.cat_names().end(),
             "get_emb_sz: emb_szs names column '", col, "', which is not one of the categorical columns");
    FA_CHECK(sz > 0, "get_emb_sz: embedding size for '", col, "' must be positive, got ", sz);
  }
  std::vector<EmbSz> out;
  for (const auto& col : to.cat_names()) {
    auto it = classes.find(col);
    FA_CHECK(it != classes.end(), "get_emb_sz: categorical column '", col,
             "' has no categories; add Categorify() to the procs");
    auto n = static_cast<int64_t>(it->second.size());
    auto s = sz_dict.find(col);
    out.push_back({n, s != sz_dict.end() ? s->second : emb_sz_rule(n)});
  }
  return out;
}

TabularLearner::TabularLearner(const TabularDataLoaders& d, Model m, LearnerOptions o, nlohmann::json model_spec)
    : Learner(d, std::move(m), std::move(o)), to_(d.to_ptr()), spec_(std::move(model_spec)), with_cont_(d.with_cont()) {}

std::shared_ptr<DataLoader> TabularLearner::test_loader(const TabularTensors& t) const {
  std::vector<at::Tensor> in{t.cats};
  if (with_cont_) in.push_back(t.conts);
  return std::make_shared<TabDataLoader>(
      in,
      TensorDataLoaderOptions{.bs = std::max<int64_t>(dls.valid().bs(), 1), .shuffle = false, .drop_last = false,
                              .n_inp = static_cast<int>(in.size()), .device = dls.device(), .seed = 1},
      to_);
}

at::Tensor TabularLearner::predict_table(const Table& rows) {
  return get_preds({.dl = test_loader(to_->process(rows, false))}).preds;
}

TabularPrediction TabularLearner::predict(const std::map<std::string, std::string>& row) {
  // One-row raw table: categorical cells as text (Categorify matches printed values), continuous
  // ones as text too (TabularPandas parses them, naming the column when one is not a number).
  std::vector<std::string> needed = to_->input_cat_names();
  for (const auto& n : to_->cont_names()) needed.push_back(n);
  std::vector<Column> cols;
  for (const auto& n : needed) {
    auto it = row.find(n);
    if (it == row.end()) {
      std::string have;
      for (const auto& [k, v] : row) have += (have.empty() ? "" : ", ") + k;
      fail("predict: the row has no value for column '", n, "' (it has: ", have.empty() ? "nothing" : have, ")");
    }
    cols.push_back(Column::from_strings(n, {it->second}, {static_cast<uint8_t>(it->second.empty())}));
  }
  Table raw(std::move(cols));
  TabularTensors t = to_->process(raw, false);
  auto preds = get_preds({.dl = test_loader(t), .with_decoded = true});  // the row is processed once
  TabularPrediction p;
  p.probs = preds.preds[0];
  p.pred = preds.decoded.defined() ? preds.decoded[0] : p.probs;
  p.decoded = to_->decode_y(p.pred);
  at::Tensor y = to_->y_is_category() ? p.pred.reshape({1}).to(at::kLong) : p.pred.reshape({1, -1});
  p.row = to_->decode(t.cats, t.conts, to_->y_names().empty() ? at::Tensor() : y);
  return p;
}

TabularLearner tabular_learner(const TabularDataLoaders& dls, TabularLearnerOptions o) {
  const TabularPandas& to = dls.to();
  auto emb_szs = get_emb_sz(to, o.emb_szs);
  int64_t n_out = o.n_out ? *o.n_out : dls.c();
  FA_CHECK(n_out > 0, "tabular_learner: n_out is not defined and could not be inferred from the data (no target "
           "columns); pass .n_out");
  TabularModelOptions cfg = model_options_of(o);
  int64_t n_cont = dls.with_cont() ? static_cast<int64_t>(to.cont_names().size()) : 0;
  auto spec = tabular_model_spec(emb_szs, n_cont, n_out, o.layers, cfg);
  return TabularLearner(dls, model_from_spec(spec), learner_options_of(o), spec);
}

}  // namespace fastai
