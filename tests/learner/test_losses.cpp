// The flattened losses against PyTorch's own values (tests/learner/metrics_expected.json, from
// gen_metrics_expected.py), the spec's label-smoothing numbers (§7.7), activations / decodes,
// unreduced losses, and shape errors reported as fastai::Error.
#include "fastai/core/error.h"
#include "fastai/learner/losses.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <fstream>
#include <string>
#include <vector>

namespace losses_test {

const nlohmann::json& losses_data() {
  static const nlohmann::json j = [] {
    std::ifstream f(FASTAI_TEST_SOURCE_DIR "/learner/metrics_expected.json");
    if (!f) throw std::runtime_error("cannot open " FASTAI_TEST_SOURCE_DIR "/learner/metrics_expected.json");
    return nlohmann::json::parse(f).at("losses");
  }();
  return j;
}

at::Tensor to_tensor(const nlohmann::json& j) {
  std::vector<int64_t> shape = j.at("shape").get<std::vector<int64_t>>();
  if (j.at("dtype") == "int") return torch::tensor(j.at("data").get<std::vector<int64_t>>(), torch::kLong).reshape(shape);
  return torch::tensor(j.at("data").get<std::vector<double>>(), torch::kDouble).reshape(shape);
}

double num(const nlohmann::json& e, const char* key) { return e.at(key).get<double>(); }

void expect_values(const at::Tensor& got, const nlohmann::json& want, const std::string& what, double tol = 1e-9) {
  const auto w = want.get<std::vector<double>>();
  const at::Tensor g = got.to(torch::kDouble).reshape({-1}).contiguous();
  ASSERT_EQ(g.numel(), static_cast<int64_t>(w.size())) << what;
  for (size_t i = 0; i < w.size(); ++i) EXPECT_NEAR(g[static_cast<int64_t>(i)].item<double>(), w[i], tol) << what << " [" << i << "]";
}

// Calls f, expects a fastai::Error whose message holds every string of `parts`.
template <class F>
void expect_error(F&& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "expected fastai::Error";
  } catch (const fastai::Error& e) {
    const std::string msg = e.what();
    for (auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
}

}  // namespace losses_test

TEST(Losses, SpecLabelSmoothingNumbers) {
  // spec §7.7: logits [2, 1, 0.1], target 0.
  auto x = torch::tensor({{2.0f, 1.0f, 0.1f}});
  auto t = torch::tensor({0}, torch::kLong);
  EXPECT_NEAR(fastai::LabelSmoothingCrossEntropy(0.1)(x, t).item<double>(), 0.51370, 5e-6);
  EXPECT_NEAR(fastai::LabelSmoothingCrossEntropyFlat(0.1)(x, t).item<double>(), 0.51370, 5e-6);
  EXPECT_NEAR(fastai::CrossEntropyLossFlat()(x, t).item<double>(), 0.41703, 5e-6);
  EXPECT_NEAR(fastai::CrossEntropyLossFlat({.label_smoothing = 0.1})(x, t).item<double>(), 0.51370, 5e-6);
}

TEST(Losses, CrossEntropyMatchesTorch) {
  const auto& d = losses_test::losses_data().at("ce");
  const auto& e = d.at("expected");
  auto x = losses_test::to_tensor(d.at("pred")), t = losses_test::to_tensor(d.at("targ"));
  auto ce = fastai::CrossEntropyLossFlat();
  EXPECT_EQ(ce.name, "CrossEntropyLossFlat");
  EXPECT_TRUE(ce.supports_reduction);
  EXPECT_NEAR(ce(x, t).item<double>(), losses_test::num(e, "mean"), 1e-9);
  EXPECT_NEAR(ce.fn(x, t, fastai::Reduction::Sum).item<double>(), losses_test::num(e, "sum"), 1e-9);
  ce.reduction = fastai::Reduction::None;  // what get_preds(with_loss) sets
  losses_test::expect_values(ce(x, t), e.at("none"), "ce none");
  // int32 targets are accepted (fastai turns int8/16/32 into long).
  EXPECT_NEAR(fastai::CrossEntropyLossFlat()(x, t.to(torch::kInt)).item<double>(), losses_test::num(e, "mean"), 1e-9);
  auto w = losses_test::to_tensor(d.at("weight"));
  EXPECT_NEAR(fastai::CrossEntropyLossFlat({.weight = w})(x, t).item<double>(), losses_test::num(e, "weight_mean"), 1e-9);
  auto ti = losses_test::to_tensor(d.at("targ_ignore"));
  EXPECT_NEAR(fastai::CrossEntropyLossFlat()(x, ti).item<double>(), losses_test::num(e, "ignore_mean"), 1e-9);
  losses_test::expect_values(fastai::CrossEntropyLossFlat().fn(x, ti, fastai::Reduction::None), e.at("ignore_none"),
                             "ce ignore none");
  EXPECT_NEAR(fastai::CrossEntropyLossFlat({.label_smoothing = 0.1})(x, t).item<double>(),
              losses_test::num(e, "label_smoothing_mean"), 1e-9);
  // Activation and decodes.
  losses_test::expect_values(ce.activation(x), e.at("softmax"), "softmax");
  losses_test::expect_values(ce.decodes(x), e.at("argmax"), "argmax", 0);
}

TEST(Losses, LabelSmoothingMatchesFastaiFormula) {
  const auto& d = losses_test::losses_data().at("ce");
  const auto& e = d.at("expected");
  auto x = losses_test::to_tensor(d.at("pred")), t = losses_test::to_tensor(d.at("targ"));
  for (auto ls : {fastai::LabelSmoothingCrossEntropy(0.1), fastai::LabelSmoothingCrossEntropyFlat(0.1)}) {
    EXPECT_NEAR(ls(x, t).item<double>(), losses_test::num(e, "ls_ce_mean"), 1e-9) << ls.name;
    EXPECT_NEAR(ls.fn(x, t, fastai::Reduction::Sum).item<double>(), losses_test::num(e, "ls_ce_sum"), 1e-9) << ls.name;
    losses_test::expect_values(ls.fn(x, t, fastai::Reduction::None), e.at("ls_ce_none"), ls.name + " none");
    losses_test::expect_values(ls.activation(x), e.at("softmax"), ls.name + " softmax");
  }
  // eps = 0 is plain cross entropy.
  EXPECT_NEAR(fastai::LabelSmoothingCrossEntropy(0.0)(x, t).item<double>(), losses_test::num(e, "mean"), 1e-9);
}

TEST(Losses, SegmentationAxis1) {
  const auto& d = losses_test::losses_data().at("ce_seg");
  const auto& e = d.at("expected");
  auto x = losses_test::to_tensor(d.at("pred")), t = losses_test::to_tensor(d.at("targ"));  // [2,3,4,5], [2,4,5]
  auto ce = fastai::CrossEntropyLossFlat({.axis = 1});
  EXPECT_NEAR(ce(x, t).item<double>(), losses_test::num(e, "mean"), 1e-9);
  losses_test::expect_values(ce.fn(x, t, fastai::Reduction::None), e.at("none"), "seg none");
  EXPECT_EQ(ce.decodes(x).sizes(), t.sizes());
  EXPECT_TRUE(torch::allclose(ce.activation(x).sum(1), torch::ones_like(t, torch::kDouble)));
  // Masks with a channel dimension [2,1,4,5] give the same.
  EXPECT_NEAR(ce(x, t.unsqueeze(1)).item<double>(), losses_test::num(e, "mean"), 1e-9);
  EXPECT_NEAR(fastai::LabelSmoothingCrossEntropy(0.1)(x, t).item<double>(), losses_test::num(e, "ls_ce_mean"), 1e-9);
  EXPECT_NEAR(fastai::LabelSmoothingCrossEntropyFlat(0.1, 1)(x, t).item<double>(), losses_test::num(e, "ls_ce_mean"), 1e-9);
  EXPECT_EQ(fastai::LabelSmoothingCrossEntropy(0.1).fn(x, t, fastai::Reduction::None).sizes(), t.sizes());
}

TEST(Losses, BCEWithLogitsMatchesTorch) {
  const auto& d = losses_test::losses_data().at("bce");
  const auto& e = d.at("expected");
  auto x = losses_test::to_tensor(d.at("pred")), t = losses_test::to_tensor(d.at("targ"));  // long 0/1 targets
  auto bce = fastai::BCEWithLogitsLossFlat();
  EXPECT_NEAR(bce(x, t).item<double>(), losses_test::num(e, "mean"), 1e-9);
  losses_test::expect_values(bce.fn(x, t, fastai::Reduction::None), e.at("none"), "bce none");
  auto pw = losses_test::to_tensor(d.at("pos_weight"));
  EXPECT_NEAR(fastai::BCEWithLogitsLossFlat({.pos_weight = pw})(x, t).item<double>(), losses_test::num(e, "pos_weight_mean"),
              1e-9);
  losses_test::expect_values(bce.activation(x), e.at("sigmoid"), "sigmoid");
  auto probs = torch::tensor({0.2, 0.5, 0.7});
  EXPECT_TRUE(torch::equal(bce.decodes(probs), torch::tensor({false, false, true})));
  EXPECT_TRUE(torch::equal(fastai::BCEWithLogitsLossFlat({.thresh = 0.1}).decodes(probs), torch::tensor({true, true, true})));
  // float32 predictions with bool targets.
  EXPECT_NEAR(bce(x.to(torch::kFloat), t.to(torch::kBool)).item<double>(), losses_test::num(e, "mean"), 1e-6);
}

TEST(Losses, RegressionLossesMatchTorch) {
  const auto& d = losses_test::losses_data().at("regression");
  const auto& e = d.at("expected");
  auto x = losses_test::to_tensor(d.at("pred")), t = losses_test::to_tensor(d.at("targ"));  // [10,1] vs [10]
  auto mse = fastai::MSELossFlat();
  EXPECT_FALSE(static_cast<bool>(mse.activation));
  EXPECT_NEAR(mse(x, t).item<double>(), losses_test::num(e, "mse_mean"), 1e-9);
  EXPECT_NEAR(mse.fn(x, t, fastai::Reduction::Sum).item<double>(), losses_test::num(e, "mse_sum"), 1e-9);
  losses_test::expect_values(mse.fn(x, t, fastai::Reduction::None), e.at("mse_none"), "mse none");
  auto l1 = fastai::L1LossFlat();
  EXPECT_NEAR(l1(x, t).item<double>(), losses_test::num(e, "l1_mean"), 1e-9);
  losses_test::expect_values(l1.fn(x, t, fastai::Reduction::None), e.at("l1_none"), "l1 none");
  // Integer targets are floatified.
  EXPECT_NEAR(mse(torch::tensor({1.0f, 2.0f}), torch::tensor({1, 4})).item<double>(), 2.0, 1e-7);
}

TEST(Losses, ShapeMismatchIsFastaiError) {
  using fastai::Reduction;
  losses_test::expect_error([] { fastai::CrossEntropyLossFlat()(torch::randn({4, 3}), torch::zeros({5}, torch::kLong)); },
                            {"CrossEntropyLossFlat", "[4, 3]", "[5]"});
  losses_test::expect_error(
      [] { fastai::CrossEntropyLossFlat({.axis = 1})(torch::randn({2, 3, 4, 4}), torch::zeros({2, 4, 5}, torch::kLong)); },
      {"CrossEntropyLossFlat", "[2, 3, 4, 4]", "[2, 4, 5]"});
  losses_test::expect_error([] { fastai::CrossEntropyLossFlat()(torch::randn({4, 3}), torch::rand({4})); },
                            {"CrossEntropyLossFlat", "class indices"});
  losses_test::expect_error([] { fastai::CrossEntropyLossFlat()(torch::randn({4, 3}), torch::tensor({0, 1, 7, 2})); },
                            {"CrossEntropyLossFlat", "[4, 3]", "[4]"});
  losses_test::expect_error([] { fastai::CrossEntropyLossFlat({.weight = torch::ones({2})})(torch::randn({4, 3}),
                                                                                            torch::zeros({4}, torch::kLong)); },
                            {"CrossEntropyLossFlat", "weight"});
  losses_test::expect_error([] { fastai::BCEWithLogitsLossFlat()(torch::randn({4, 3}), torch::zeros({4, 2})); },
                            {"BCEWithLogitsLossFlat", "[4, 3]", "[4, 2]"});
  losses_test::expect_error(
      [] { fastai::BCEWithLogitsLossFlat({.pos_weight = torch::ones({3})})(torch::randn({4, 3}), torch::zeros({12})); },
      {"BCEWithLogitsLossFlat", "[4, 3]", "[12]"});
  losses_test::expect_error([] { fastai::MSELossFlat()(torch::randn({4, 2}), torch::zeros({4})); },
                            {"MSELossFlat", "[4, 2]", "[4]"});
  losses_test::expect_error([] { fastai::L1LossFlat()(torch::randn({3}), torch::zeros({4})); }, {"L1LossFlat", "[3]", "[4]"});
  losses_test::expect_error([] { fastai::LabelSmoothingCrossEntropy()(torch::randn({4, 3}), torch::zeros({3}, torch::kLong)); },
                            {"LabelSmoothingCrossEntropy", "[4, 3]", "[3]"});
}

TEST(Losses, PlainFunctionWrapsWithoutReduction) {
  fastai::LossFunc f = [](const at::Tensor& p, const at::Tensor& t) { return (p - t).abs().sum(); };
  EXPECT_FALSE(f.supports_reduction);
  EXPECT_NEAR(f(torch::tensor({1.0, 2.0}), torch::tensor({0.0, 0.0})).item<double>(), 3.0, 1e-12);
}
