// Every metric against scikit-learn on the inputs of tests/learner/metrics_expected.json (written
// by gen_metrics_expected.py), fed in uneven batches so that accumulation is what is checked;
// plus the loss-tracking metrics (AvgLoss, AvgSmoothLoss, Perplexity) and the error paths.
#include "fastai/core/error.h"
#include "fastai/learner/learner.h"
#include "fastai/learner/metric.h"
#include "fastai/learner/metrics.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace metrics_test {

const nlohmann::json& expected_data() {
  static const nlohmann::json j = [] {
    std::ifstream f(FASTAI_TEST_SOURCE_DIR "/learner/metrics_expected.json");
    if (!f) throw std::runtime_error("cannot open " FASTAI_TEST_SOURCE_DIR "/learner/metrics_expected.json");
    return nlohmann::json::parse(f);
  }();
  return j;
}

at::Tensor to_tensor(const nlohmann::json& j, at::ScalarType float_type = at::kDouble) {
  std::vector<int64_t> shape = j.at("shape").get<std::vector<int64_t>>();
  if (j.at("dtype") == "int") {
    auto v = j.at("data").get<std::vector<int64_t>>();
    return torch::tensor(v, torch::kLong).reshape(shape);
  }
  auto v = j.at("data").get<std::vector<double>>();
  return torch::tensor(v, torch::kDouble).reshape(shape).to(float_type);
}

struct Case {
  at::Tensor pred, targ;
  std::vector<int64_t> cuts;
  nlohmann::json expected;
};

Case load_case(const std::string& name, at::ScalarType float_type = at::kDouble) {
  const auto& c = expected_data().at("cases").at(name);
  return {to_tensor(c.at("pred"), float_type), to_tensor(c.at("targ"), float_type),
          c.at("batches").get<std::vector<int64_t>>(), c.at("expected")};
}

// Feeds pred/targ batch by batch (raw model outputs, as accumulate(learn) sees them) and
// returns the metric's value; twice, to check reset().
double run_metric(const std::shared_ptr<fastai::Metric>& m, const Case& c) {
  double v = 0;
  for (int rep = 0; rep < 2; ++rep) {
    m->reset();
    for (size_t i = 0; i + 1 < c.cuts.size(); ++i) {
      auto p = c.pred.slice(0, c.cuts[i], c.cuts[i + 1]);
      auto t = c.targ.slice(0, c.cuts[i], c.cuts[i + 1]);
      if (auto a = std::dynamic_pointer_cast<fastai::AvgMetric>(m))
        a->accumulate(p, t);
      else if (auto b = std::dynamic_pointer_cast<fastai::AccumMetric>(m))
        b->accumulate_output(p, t);
      else if (auto d = std::dynamic_pointer_cast<fastai::Dice>(m))
        d->accumulate(p, t);
      else
        throw std::runtime_error("run: unsupported metric type " + m->name());
    }
    const double v2 = m->value();
    if (rep == 1) {
      EXPECT_TRUE(v == v2 || (std::isnan(v) && std::isnan(v2))) << m->name() << ": a second pass after reset() differs";
    }
    v = v2;
  }
  return v;
}
double run(const fastai::MetricRef& r, const Case& c) { return run_metric(r.m, c); }

fastai::Average average_of(const std::string& s) {
  if (s == "binary") return fastai::Average::Binary;
  if (s == "micro") return fastai::Average::Micro;
  if (s == "macro") return fastai::Average::Macro;
  if (s == "weighted") return fastai::Average::Weighted;
  throw std::runtime_error("unknown average " + s);
}

// The metric object for a key of the expected values: "name", "name/average" or "name(arg)/average".
fastai::MetricRef metric_for(const std::string& key) {
  using namespace fastai;
  const auto slash = key.find('/');
  const std::string head = key.substr(0, slash);
  const std::string avg = slash == std::string::npos ? "" : key.substr(slash + 1);
  const ScoreOptions so{.average = avg.empty() ? Average::Binary : average_of(avg)};
  if (head == "accuracy") return accuracy;
  if (head == "error_rate") return error_rate;
  if (head == "matthews_corrcoef") return MatthewsCorrCoef();
  if (head == "precision_score") return Precision(so);
  if (head == "recall_score") return Recall(so);
  if (head == "f1_score") return F1Score(so);
  if (head == "fbeta_score(0.5)") return FBeta(0.5, so);
  if (head == "fbeta_score(2)") return FBeta(2.0, so);
  if (head == "top_k_accuracy(2)") return TopKAccuracy(2);
  if (head == "top_k_accuracy(5)") return top_k_accuracy;
  if (key == "roc_auc_score/binary") return RocAucBinary();
  if (key == "roc_auc_score/macro") return RocAuc();
  if (key == "roc_auc_score/weighted") return RocAuc({.average = Average::Weighted});
  throw std::runtime_error("no metric for expected key " + key);
}

// fastai's printed name: the key up to '/' or '('.
std::string printed_name(const std::string& key) { return key.substr(0, key.find_first_of("/(")); }

void check_classification_case(const std::string& name, at::ScalarType float_type, double tol) {
  const Case c = load_case(name, float_type);
  int checked = 0;
  for (auto& [key, val] : c.expected.items()) {
    if (key == "perplexity") continue;  // a loss metric, see Perplexity below
    const fastai::MetricRef m = metric_for(key);
    EXPECT_EQ(m.m->name(), printed_name(key));
    EXPECT_NEAR(run(m, c), val.get<double>(), tol) << name << ": " << key;
    ++checked;
  }
  EXPECT_GE(checked, 10) << name;
}

}  // namespace metrics_test

TEST(Metrics, ClassificationMatchesSklearn) {
  for (const char* name : {"binary", "multiclass", "multiclass_missing"})
    metrics_test::check_classification_case(name, at::kDouble, 1e-6);
}

TEST(Metrics, ClassificationOnFloat32Outputs) {
  for (const char* name : {"binary", "multiclass", "multiclass_missing"})
    metrics_test::check_classification_case(name, at::kFloat, 1e-6);
}

TEST(Metrics, RocAucBinaryOnOneColumnScoresWithTies) {
  const auto c = metrics_test::load_case("binary_scores");
  EXPECT_NEAR(metrics_test::run(fastai::RocAucBinary(), c), c.expected.at("roc_auc_score/binary").get<double>(), 1e-6);
}

TEST(Metrics, RocAucUndefinedIsNaN) {
  // A class column never present in the targets: scikit-learn raises; we give NaN.
  const auto c = metrics_test::load_case("multiclass_missing");
  EXPECT_TRUE(std::isnan(metrics_test::run(fastai::RocAuc(), c)));
  // One class only in the targets.
  fastai::AccumMetric m = fastai::RocAucBinary();
  m.accumulate_output(torch::randn({5, 2}), torch::ones({5}, torch::kLong));
  EXPECT_TRUE(std::isnan(m.value()));
}

TEST(Metrics, MultiLabelMatchesSklearn) {
  const auto c = metrics_test::load_case("multilabel");
  EXPECT_EQ(fastai::accuracy_multi.name, "accuracy_multi");
  EXPECT_NEAR(metrics_test::run(fastai::accuracy_multi, c), c.expected.at("accuracy_multi").get<double>(), 1e-6);
  EXPECT_NEAR(metrics_test::run(fastai::AccuracyMulti(0.3, false), c),
              c.expected.at("accuracy_multi(0.3,nosigmoid)").get<double>(), 1e-6);
}

TEST(Metrics, RegressionMatchesSklearn) {
  const auto c = metrics_test::load_case("regression");
  const auto& e = c.expected;
  EXPECT_NEAR(metrics_test::run(fastai::mse, c), e.at("mse").get<double>(), 1e-6);
  EXPECT_NEAR(metrics_test::run(fastai::mae, c), e.at("mae").get<double>(), 1e-6);
  EXPECT_NEAR(metrics_test::run(fastai::msle, c), e.at("msle").get<double>(), 1e-6);
  EXPECT_NEAR(metrics_test::run(fastai::rmse, c), e.at("_rmse").get<double>(), 1e-6);
  EXPECT_NEAR(metrics_test::run(fastai::R2Score(), c), e.at("r2_score").get<double>(), 1e-6);
  metrics_test::Case quarter = c;  // _exp_rmspe was computed on pred/4, targ/4
  quarter.pred = c.pred / 4;
  quarter.targ = c.targ / 4;
  EXPECT_NEAR(metrics_test::run(fastai::exp_rmspe, quarter), e.at("_exp_rmspe").get<double>(), 1e-6);
  // float32 outputs, and integer-valued targets are accepted by the regression functions.
  metrics_test::Case f32 = c;
  f32.pred = c.pred.to(torch::kFloat);
  f32.targ = c.targ.to(torch::kFloat);
  EXPECT_NEAR(metrics_test::run(fastai::mse, f32), e.at("mse").get<double>(), 1e-5);
  EXPECT_NEAR(metrics_test::run(fastai::rmse, f32), e.at("_rmse").get<double>(), 1e-5);
}

TEST(Metrics, SegmentationMatchesSklearn) {
  const auto c = metrics_test::load_case("segmentation");
  EXPECT_NEAR(metrics_test::run(fastai::Dice(), c), c.expected.at("dice").get<double>(), 1e-6);
  EXPECT_NEAR(metrics_test::run(fastai::JaccardCoeff(), c), c.expected.at("jaccard_coeff").get<double>(),
              1e-6);
  EXPECT_NEAR(metrics_test::run(fastai::Accuracy(1), c), c.expected.at("accuracy(axis=1)").get<double>(), 1e-6);
  fastai::Dice empty;
  EXPECT_TRUE(std::isnan(empty.value()));
}

TEST(Metrics, PerplexityIsExpOfMeanValidLoss) {
  for (const char* name : {"binary", "multiclass"}) {
    const auto c = metrics_test::load_case(name);
    fastai::Perplexity p;
    EXPECT_EQ(p.name(), "perplexity");
    p.reset();
    for (size_t i = 0; i + 1 < c.cuts.size(); ++i) {
      auto pb = c.pred.slice(0, c.cuts[i], c.cuts[i + 1]);
      auto tb = c.targ.slice(0, c.cuts[i], c.cuts[i + 1]);
      p.accumulate(at::cross_entropy_loss(pb, tb), pb.size(0));
    }
    EXPECT_NEAR(p.value(), c.expected.at("perplexity").get<double>(), 1e-6 * c.expected.at("perplexity").get<double>());
  }
}

TEST(Metrics, NamesAsFastaiPrintsThem) {
  using namespace fastai;
  std::vector<MetricRef> ms = {accuracy,      error_rate,     top_k_accuracy, accuracy_multi, Precision(),
                               Recall(),      F1Score(),      FBeta(2),       MatthewsCorrCoef(), RocAuc(),
                               RocAucBinary(), mse,           rmse,           mae,            msle,
                               exp_rmspe,     R2Score(),      Dice(),         JaccardCoeff(), Perplexity(),
                               perplexity};
  std::vector<std::string> names;
  for (auto& m : ms) names.push_back(m.m->name());
  EXPECT_EQ(names, (std::vector<std::string>{
                       "accuracy", "error_rate", "top_k_accuracy", "accuracy_multi", "precision_score", "recall_score",
                       "f1_score", "fbeta_score", "matthews_corrcoef", "roc_auc_score", "roc_auc_score", "mse", "_rmse",
                       "mae", "msle", "_exp_rmspe", "r2_score", "dice", "jaccard_coeff", "perplexity", "perplexity"}));
  // The options struct takes the list as fastai's Learner(metrics=...) does.
  LearnerOptions o{.metrics = {accuracy, error_rate, F1Score(), RocAuc()}};
  EXPECT_EQ(o.metrics.size(), 4u);
  // A list of values can be reused: each MetricRef holds its own copy.
  MetricRef a = rmse, b = rmse;
  EXPECT_NE(a.m.get(), b.m.get());
}

TEST(Metrics, PlainFunctionsCallable) {
  auto pred = torch::tensor({{0.1, 0.9}, {0.8, 0.2}, {0.3, 0.7}, {0.6, 0.4}});
  auto targ = torch::tensor({1, 0, 0, 0});
  EXPECT_NEAR(fastai::accuracy(pred, targ).item<double>(), 0.75, 1e-7);
  EXPECT_NEAR(fastai::error_rate(pred, targ).item<double>(), 0.25, 1e-7);
  EXPECT_NEAR(fastai::TopKAccuracy(2)(pred, targ).item<double>(), 1.0, 1e-7);
}

TEST(Metrics, ErrorsAreFastaiErrors) {
  using namespace fastai;
  const auto c = metrics_test::load_case("multiclass");
  // average=binary on 6 classes.
  EXPECT_THROW(metrics_test::run(Precision(), c), fastai::Error);
  // Mismatched sizes name both shapes.
  AccumMetric f1 = F1Score();
  try {
    f1.accumulate_output(torch::randn({4, 2}), torch::zeros({5}, torch::kLong));
    FAIL() << "expected fastai::Error";
  } catch (const fastai::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("f1_score"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[4]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[5]"), std::string::npos) << msg;
  }
  AvgMetric acc(accuracy.fn, accuracy.name);
  EXPECT_THROW(acc.accumulate(torch::randn({4, 3}), torch::zeros({3}, torch::kLong)), fastai::Error);
  EXPECT_THROW(TopKAccuracy(5)(torch::randn({4, 3}), torch::zeros({4}, torch::kLong)), fastai::Error);
  // Non-integral class targets.
  AccumMetric mcc = MatthewsCorrCoef();
  mcc.accumulate_output(torch::randn({3, 2}), torch::tensor({0.5, 1.0, 0.0}));
  EXPECT_THROW(mcc.value(), fastai::Error);
  EXPECT_THROW(RocAuc({.average = Average::Micro}), fastai::Error);
}

TEST(Metrics, EmptyIsNaN) {
  using namespace fastai;
  AvgMetric acc(accuracy.fn, accuracy.name);
  EXPECT_TRUE(std::isnan(acc.value()));
  EXPECT_TRUE(std::isnan(F1Score().value()));
  EXPECT_TRUE(std::isnan(AvgLoss().value()));
  EXPECT_TRUE(std::isnan(AvgSmoothLoss().value()));
  EXPECT_TRUE(std::isnan(Perplexity().value()));
}

TEST(Metrics, AvgMetricWeighsBatchesBySize) {
  // Batch 1: 3 items, all right; batch 2: 1 item, wrong -> 3/4 (not the mean of batch means, 1/2).
  fastai::AvgMetric acc(fastai::accuracy.fn, "accuracy");
  acc.accumulate(torch::tensor({{0.0, 1.0}, {0.0, 1.0}, {1.0, 0.0}}), torch::tensor({1, 1, 0}));
  acc.accumulate(torch::tensor({{0.0, 1.0}}), torch::tensor({0}));
  EXPECT_NEAR(acc.value(), 0.75, 1e-7);
}

TEST(Metrics, AccumMetricActivations) {
  using namespace fastai;
  auto pred = torch::tensor({{2.0, 1.0}, {-1.0, 3.0}, {0.5, 0.4}});
  auto targ = torch::tensor({0, 1, 1});
  // Softmax, then the raw values reach f.
  AccumMetric sm([](const at::Tensor& p, const at::Tensor&) { return p.sum(1).mean().item<double>(); }, "sm",
                 {.dim_argmax = -1, .activation = Activation::Softmax, .flatten = false});
  sm.accumulate_output(pred, targ);
  EXPECT_NEAR(sm.value(), 1.0, 1e-6);
  // BinarySoftmax: the probability of column 1.
  AccumMetric bs([](const at::Tensor& p, const at::Tensor&) { return p[1].item<double>(); }, "bs",
                 {.dim_argmax = -1, .activation = Activation::BinarySoftmax});
  bs.accumulate_output(pred, targ);
  EXPECT_NEAR(bs.value(), 1 / (1 + std::exp(-4.0)), 1e-7);  // float32 logits
  // Sigmoid + thresh.
  AccumMetric th([](const at::Tensor& p, const at::Tensor&) { return p.to(at::kDouble).sum().item<double>(); }, "th",
                 {.activation = Activation::Sigmoid, .thresh = 0.6});
  th.accumulate_output(pred, torch::zeros({3, 2}));
  EXPECT_EQ(th.value(), 4.0);  // sigmoid >= 0.6 for 2.0, 1.0, 3.0, 0.5
  // accumulate(pred, targ) takes already activated values.
  AccumMetric id([](const at::Tensor& p, const at::Tensor& t) { return (p - t).abs().sum().item<double>(); }, "id");
  id.accumulate(torch::tensor({1.0, 2.0}), torch::tensor({1.0, 4.0}));
  EXPECT_EQ(id.value(), 2.0);
}

TEST(Metrics, AvgLossWeighsBySize) {
  fastai::AvgLoss l;
  l.accumulate(torch::tensor(2.0f), 3);
  l.accumulate(torch::tensor({1.0f, 0.0f}), 1);  // unreduced loss: its mean (0.5)
  EXPECT_NEAR(l.value(), (2.0 * 3 + 0.5) / 4, 1e-7);
  l.reset();
  l.accumulate(torch::tensor(1.5f), 2);
  EXPECT_NEAR(l.value(), 1.5, 1e-7);
}

TEST(Metrics, AvgSmoothLossDebiased) {
  // spec §7.4: a constant loss is returned exactly from the first batch.
  fastai::AvgSmoothLoss s(0.98);
  for (int i = 0; i < 5; ++i) {
    s.accumulate(torch::tensor(0.6931f));
    EXPECT_EQ(s.value(), static_cast<double>(0.6931f)) << "after batch " << i + 1;
  }
  EXPECT_EQ(s.count(), 5);
  // An arbitrary sequence: the debiased EMA, one history entry per batch.
  s.reset();
  const std::vector<double> losses = {1.0, 0.5, 2.0, 0.25, 0.75};
  for (double l : losses) s.accumulate(torch::tensor(l));
  const auto& h = s.history();
  ASSERT_EQ(h.size(), losses.size());
  double v = 0;
  for (size_t i = 0; i < losses.size(); ++i) {
    v = 0.98 * v + 0.02 * losses[i];
    EXPECT_NEAR(h[i], v / (1 - std::pow(0.98, static_cast<double>(i + 1))), 1e-12);
  }
  EXPECT_DOUBLE_EQ(s.value(), h.back());
  // Many batches without reading the value (folded in periodically) give the same result.
  s.reset();
  for (int i = 0; i < 3000; ++i) s.accumulate(torch::tensor(1.25));
  EXPECT_EQ(s.count(), 3000);
  EXPECT_NEAR(s.value(), 1.25, 1e-12);
  EXPECT_EQ(s.history().size(), 3000u);
}

TEST(Metrics, FindBs) {
  EXPECT_EQ(fastai::find_bs({torch::zeros({7, 2})}, torch::zeros({3})), 7);
  EXPECT_EQ(fastai::find_bs({}, torch::zeros({5, 4})), 5);
}
