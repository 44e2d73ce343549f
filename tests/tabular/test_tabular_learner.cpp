// TabularDataLoaders and tabular_learner: batching from column tensors, test_dl, show_batch,
// a fit that learns (synthetic and credit_data), predict on a raw row, bad rows.
#include <fastai/core/random.h>
#include <fastai/learner/interpret.h>
#include <fastai/learner/progress.h>
#include <fastai/learner/recorder.h>
#include <fastai/tabular.h>
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "test_util.h"

using namespace fastai;
using fastai::testing::expect_error;

namespace {

// y = "hi" when 2*a + (g == "q" ? 1 : -1) > 0.3, with noise-free labels; 600 rows.
Table synthetic(int64_t n = 600, uint64_t seed = 7) {
  Rng rng(seed);
  std::vector<double> a(n), b(n);
  std::vector<std::string> g(n), y(n);
  const char* groups[] = {"p", "q", "r"};
  for (int64_t i = 0; i < n; ++i) {
    a[i] = rng.uniform() * 2 - 1;
    b[i] = rng.uniform();
    g[i] = groups[rng.below(3)];
    y[i] = 2 * a[i] + (g[i] == "q" ? 1 : -1) > 0.3 ? "hi" : "lo";
  }
  return Table({Column::from_floats("a", a), Column::from_strings("g", g), Column::from_floats("b", b),
                Column::from_strings("y", y)});
}

TabularDataLoaders synthetic_dls(int64_t bs = 32) {
  return TabularDataLoaders::from_df(synthetic(), {.procs = {Categorify(), FillMissing(), Normalize()},
                                                   .cat_names = {"g"}, .y_names = {"y"},
                                                   .valid_idx = range(480, 600), .bs = bs, .seed = 3});
}

void quiet(Learner& l) {
  static std::FILE* devnull = std::fopen("/dev/null", "w");
  if (l.progress) l.progress->opts.out = devnull;
  if (l.recorder) l.recorder->logger = [](const LogRow&) {};
}

}  // namespace

TEST(TabularDataLoaders, BatchesFromColumnTensors) {
  auto dls = synthetic_dls(64);
  EXPECT_EQ(dls.cont_names(), (std::vector<std::string>{"a", "b"}));  // default: the other columns, in order
  EXPECT_EQ(dls.train().n(), 480);
  EXPECT_EQ(dls.train().size(), 480 / 64);  // drop_last
  EXPECT_EQ(dls.valid().size(), 2);         // 120 rows, bs 64
  EXPECT_EQ(dls.train().n_inp(), 2);
  EXPECT_EQ(dls.vocab(), (std::vector<std::string>{"hi", "lo"}));
  EXPECT_EQ(dls.c(), 2);
  Batch b;
  dls.train().begin_epoch();
  ASSERT_TRUE(dls.train().next(b));
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].sizes(), (std::vector<int64_t>{64, 1}));
  EXPECT_EQ(b[1].sizes(), (std::vector<int64_t>{64, 2}));
  EXPECT_EQ(b[2].sizes(), (std::vector<int64_t>{64}));
  EXPECT_EQ(b[0].scalar_type(), at::kLong);
  // Same seed, same batches; the training loader shuffles.
  auto again = synthetic_dls(64);
  Batch c;
  again.train().begin_epoch();
  ASSERT_TRUE(again.train().next(c));
  EXPECT_TRUE(b[1].equal(c[1]));
  auto first = dls.to().tensors(std::vector<int64_t>(range(0, 64)));
  EXPECT_FALSE(b[1].equal(first.conts));
  EXPECT_EQ(dls.loss_hint()->name, "CrossEntropyLossFlat");
}

TEST(TabularDataLoaders, ShowBatchAndTestDl) {
  auto dls = synthetic_dls();
  std::ostringstream os;
  dls.show_batch(3, &os);
  std::string s = os.str();
  Table raw = synthetic();
  EXPECT_NE(s.find(raw["g"].strings()[0]), std::string::npos);
  EXPECT_NE(s.find(raw["y"].strings()[0]), std::string::npos);
  EXPECT_NE(s.find("a"), std::string::npos);
  // Decoded continuous values are back on the raw scale (Normalize decodes).
  auto t = dls.to().tensors({0});
  Table dec = dls.to().decode(t.cats, t.conts, t.ys);
  EXPECT_NEAR(dec["a"].floats()[0], raw["a"].floats()[0], 1e-5);
  auto tdl = dls.test_dl(raw.slice(0, 5).drop({"y"}));
  EXPECT_EQ(tdl->n(), 5);
  EXPECT_EQ(tdl->n_inp(), 2);
  expect_error([&] { dls.test_dl(raw.slice(0, 5).drop({"g"})); }, {"'g'"});
}

TEST(TabularLearner, FitLearnsPredictDecodesAndBadRows) {
  set_seed(1);
  auto dls = synthetic_dls();
  auto learn = tabular_learner(dls, {.layers = {32, 16}, .metrics = {accuracy}});
  // emb: g has 4 classes with #na# -> size 3; 2 conts.
  auto* m = dynamic_cast<TabularModelImpl*>(learn.model.module.get());
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->emb_szs(), (std::vector<EmbSz>{{4, 3}}));
  EXPECT_EQ(m->n_cont(), 2);
  EXPECT_EQ(m->out_sz(), 2);
  quiet(learn);
  learn.fit_one_cycle(5, 1e-2);
  auto res = learn.validate();
  EXPECT_GT(res[1], 0.9) << "accuracy after 5 epochs";
  // predict on a raw row: 2*0.5 + 1 > 0.3 -> hi
  auto p = learn.predict({{"a", "0.5"}, {"g", "q"}, {"b", "0.2"}});
  EXPECT_EQ(p.decoded, "hi");
  EXPECT_EQ(p.probs.sizes(), (std::vector<int64_t>{2}));
  EXPECT_NEAR(p.probs.sum().item<double>(), 1.0, 1e-5);
  EXPECT_EQ(p.row["y"].strings()[0], "hi");
  EXPECT_EQ(p.row["g"].strings()[0], "q");
  EXPECT_NEAR(p.row["a"].floats()[0], 0.5, 1e-5);
  auto low = learn.predict({{"a", "-0.9"}, {"g", "p"}, {"b", "0.2"}});
  EXPECT_EQ(low.decoded, "lo");
  // an unseen category is #na# (fastai's behaviour), not an error
  auto unseen = learn.predict({{"a", "0.9"}, {"g", "zzz"}, {"b", "0.2"}});
  EXPECT_EQ(unseen.row["g"].strings()[0], "#na#");
  expect_error([&] { learn.predict({{"a", "0.5"}, {"b", "0.2"}}); }, {"no value for column 'g'"});
  expect_error([&] { learn.predict({{"a", "half"}, {"g", "q"}, {"b", "0.2"}}); }, {"'a'", "'half'", "not a number"});
  auto many = learn.predict_table(synthetic(10, 99).drop({"y"}));
  EXPECT_EQ(many.sizes(), (std::vector<int64_t>{10, 2}));
  // Interpretation over the validation rows: the vocab comes from the loaders.
  auto interp = ClassificationInterpretation::from_learner(learn);
  EXPECT_EQ(interp.vocab(), (std::vector<std::string>{"hi", "lo"}));
  auto cm = interp.confusion_matrix();
  EXPECT_EQ(cm.sum().item<int64_t>(), 120);
  EXPECT_NEAR(cm.diagonal().sum().item<double>() / 120, res[1], 1e-6);  // the accuracy metric
}

TEST(TabularLearner, RegressionYRangeAndEmbSizes) {
  set_seed(2);
  Table raw = synthetic(300);
  std::vector<double> v(300);
  for (int i = 0; i < 300; ++i) v[i] = 3 * raw["a"].floats()[i] + 1;
  raw.set_column(Column::from_floats("target", v));
  auto dls = TabularDataLoaders::from_df(raw.drop({"y"}), {.procs = {Categorify(), Normalize()}, .cat_names = {"g"},
                                                           .y_names = {"target"}, .bs = 32, .seed = 5});
  EXPECT_EQ(dls.train().n() + dls.valid().n(), 300);
  EXPECT_EQ(dls.valid().n(), 60);  // RandomSplitter(0.2)
  EXPECT_EQ(dls.loss_hint()->name, "MSELossFlat");
  auto learn = tabular_learner(dls, {.layers = {20}, .emb_szs = {{"g", 5}}, .y_range = std::pair{-3.0, 5.0}});
  auto* m = dynamic_cast<TabularModelImpl*>(learn.model.module.get());
  EXPECT_EQ(m->emb_szs(), (std::vector<EmbSz>{{4, 5}}));
  quiet(learn);
  double before = learn.validate()[0];
  learn.fit_one_cycle(4, 1e-2);
  double after = learn.validate()[0];
  EXPECT_LT(after, before / 4);
  auto preds = learn.get_preds().preds;
  EXPECT_LE(preds.max().item<double>(), 5.0);
  EXPECT_GE(preds.min().item<double>(), -3.0);
  expect_error([&] { tabular_learner(dls, {.emb_szs = {{"a", 3}}}); }, {"'a'", "not one of the categorical"});
}

TEST(TabularLearner, CreditDataBeatsTheConstantPredictor) {
  set_seed(42);
  Table df = read_csv(untar_data(URLs::CREDIT) / "credit_data.csv");
  ASSERT_EQ(df.n_rows(), 4454u);
  auto dls = TabularDataLoaders::from_df(df, {.procs = {Categorify(), FillMissing(), Normalize()},
                                              .cat_names = {"Home", "Marital", "Records", "Job"},
                                              .cont_names = {"Seniority", "Age", "Income", "Expenses", "Assets",
                                                             "Debt", "Amount", "Price", "Time"},
                                              .y_names = {"Status"}, .valid_idx = range(3500, 4454), .bs = 64});
  // Income, Assets and Debt have missing values in the training rows: FillMissing adds their _na columns.
  EXPECT_EQ(dls.cat_names().size(), 7u);
  auto learn = tabular_learner(dls, {.metrics = {accuracy}});
  quiet(learn);
  learn.fit_one_cycle(3, 1e-2);
  double acc = learn.validate()[1];
  // The constant predictor: the share of the majority class in the validation rows.
  auto ys = dls.to().tensors(dls.to().valid_idx()).ys;
  double good = ys.eq(1).to(at::kDouble).mean().item<double>();
  double constant = std::max(good, 1 - good);
  EXPECT_GT(acc, constant + 0.03) << "constant predictor " << constant;
}
