// ClassificationInterpretation: confusion matrix, most_confused, top_losses and the report on
// hand-made predictions (expected values computed here independently); plot_heatmap output and errors.
#include <fastai/plot/heatmap.h>
#include <fastai/learner/interpret.h>
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <fstream>

#include "test_util.h"

namespace fastai::testing {

namespace interpret_tests {

// 8 items, 3 classes. targets / argmax of preds:
//   t: 0 0 0 1 1 2 2 2
//   d: 0 1 0 1 2 2 0 2
ClassificationInterpretation make() {
  std::vector<int64_t> t{0, 0, 0, 1, 1, 2, 2, 2}, d{0, 1, 0, 1, 2, 2, 0, 2};
  auto preds = at::full({8, 3}, 0.1f);
  for (int i = 0; i < 8; ++i) preds[i][d[i]] = 0.8f;
  auto losses = at::tensor(std::vector<float>{0.1f, 2.0f, 0.2f, 0.3f, 1.5f, 0.05f, 3.0f, 0.4f});
  return ClassificationInterpretation(preds, at::tensor(t), losses, {"cat", "dog", "owl"});
}

std::string head_bytes(const std::filesystem::path& p, size_t n) {
  std::ifstream f(p, std::ios::binary);
  std::string s(n, '\0');
  f.read(s.data(), static_cast<std::streamsize>(n));
  return s;
}

}  // namespace interpret_tests

TEST(Interpretation, ConfusionMatrixMostConfusedTopLosses) {
  auto interp = interpret_tests::make();
  auto cm = interp.confusion_matrix();
  std::vector<int64_t> expect{2, 1, 0,   // actual cat: 2 right, 1 as dog
                              0, 1, 1,   // actual dog: 1 right, 1 as owl
                              1, 0, 2};  // actual owl: 1 as cat, 2 right
  EXPECT_EQ(std::vector<int64_t>(cm.data_ptr<int64_t>(), cm.data_ptr<int64_t>() + 9), expect);
  auto mc = interp.most_confused();
  ASSERT_EQ(mc.size(), 3u);
  EXPECT_EQ(mc[0].actual, "cat");
  EXPECT_EQ(mc[0].predicted, "dog");
  EXPECT_EQ(mc[0].count, 1);
  EXPECT_TRUE(interp.most_confused(2).empty());
  auto [vals, idx] = interp.top_losses(2);
  EXPECT_EQ(idx[0].item<int64_t>(), 6);
  EXPECT_EQ(idx[1].item<int64_t>(), 1);
  EXPECT_FLOAT_EQ(vals[0].item<float>(), 3.0f);
  EXPECT_EQ(interp.top_losses().first.size(0), 8);
}

TEST(Interpretation, ClassificationReportMatchesHandComputedScores) {
  auto rep = interpret_tests::make().classification_report(4);
  // precision = tp / predicted, recall = tp / support: cat 2/3, 2/3; dog 1/2, 1/2; owl 2/3, 2/3.
  // f1 equal to them; accuracy 5/8 = 0.625; macro avg (2/3 + 1/2 + 2/3) / 3 = 0.6111;
  // weighted (3*2/3 + 2*1/2 + 3*2/3) / 8 = 0.625.
  EXPECT_NE(rep.find("cat    0.6667    0.6667    0.6667         3"), std::string::npos) << rep;
  EXPECT_NE(rep.find("dog    0.5000    0.5000    0.5000         2"), std::string::npos) << rep;
  EXPECT_NE(rep.find("accuracy                        0.6250         8"), std::string::npos) << rep;
  EXPECT_NE(rep.find("macro avg    0.6111    0.6111    0.6111         8"), std::string::npos) << rep;
  EXPECT_NE(rep.find("weighted avg    0.6250    0.6250    0.6250         8"), std::string::npos) << rep;
}

TEST(Interpretation, ClassificationReportF1WhenPrecisionPlusRecallIsBelowOne) {
  // 4 classes; class a: tp 1, predicted 5, support 2 -> precision 1/5, recall 1/2, f1 = 2pr/(p+r) = 2/7
  // (an F1 whose p + r < 1, where a division guarded for counts would go wrong); b: p 0, r 0, f1 0.
  //   t: a a b b c c d d     d: a b a a a c a d
  std::vector<int64_t> t{0, 0, 1, 1, 2, 2, 3, 3}, d{0, 1, 0, 0, 0, 2, 0, 3};
  auto preds = at::zeros({8, 4});
  for (int i = 0; i < 8; ++i) preds[i][d[i]] = 1.f;
  auto rep = ClassificationInterpretation(preds, at::tensor(t), {}, {"a", "b", "c", "d"}).classification_report(4);
  EXPECT_NE(rep.find("a    0.2000    0.5000    0.2857         2"), std::string::npos) << rep;
  EXPECT_NE(rep.find("b    0.0000    0.0000    0.0000         2"), std::string::npos) << rep;
  EXPECT_NE(rep.find("c    1.0000    0.5000    0.6667         2"), std::string::npos) << rep;
}

TEST(Interpretation, PlotsAndBadInput) {
  TmpDir tmp;
  auto interp = interpret_tests::make();
  interp.plot_confusion_matrix((tmp.p / "cm.png").string());
  EXPECT_EQ(interpret_tests::head_bytes(tmp.p / "cm.png", 4), "\x89PNG");
  interp.plot_confusion_matrix((tmp.p / "cm.svg").string(), {.normalize = true});
  auto svg = interpret_tests::head_bytes(tmp.p / "cm.svg", 200);
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  expect_error([&] { interp.plot_confusion_matrix((tmp.p / "cm.jpg").string()); }, {"cm.jpg", "unknown extension"});
  expect_error([&] { plot_heatmap((tmp.p / "h.png").string(), {{1, 2}, {3}}, {"a", "b"}, {"x", "y"}); },
               {"row 1 has 1 values"});
  expect_error([&] { plot_heatmap((tmp.p / "h.png").string(), {{1, 2}}, {"a", "b"}, {"x", "y"}); },
               {"2 row labels", "1x2"});
  expect_error([&] { ClassificationInterpretation(at::zeros({4, 2}), at::zeros({4}), {}, {}); },
               {"integer class targets", "Float"});
  expect_error([&] { ClassificationInterpretation(at::zeros({4, 2}), at::tensor(std::vector<int64_t>{0, 1, 2, 0}), {}, {}); },
               {"[0, 2)", "[0, 2]"});
  expect_error([&] { ClassificationInterpretation(at::zeros({2, 2}), at::zeros({2}, at::kLong), {}, {"a"}); },
               {"1 class names", "2 classes"});
  ClassificationInterpretation no_loss(at::zeros({2, 2}), at::zeros({2}, at::kLong), {}, {});
  EXPECT_EQ(no_loss.vocab(), (std::vector<std::string>{"0", "1"}));
  expect_error([&] { no_loss.top_losses(1); }, {"no per-item losses"});
}

}  // namespace fastai::testing
