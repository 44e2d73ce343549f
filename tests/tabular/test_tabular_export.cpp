// export_to / load_tabular_learner: the loaded learner predicts exactly as the trained one,
// without the training data; collab learners too; bad files are named errors.
#include <fastai/collab.h>
#include <fastai/core/random.h>
#include <fastai/learner/progress.h>
#include <fastai/learner/recorder.h>
#include <fastai/tabular.h>
#include <gtest/gtest.h>

#include "test_util.h"

using namespace fastai;
using fastai::testing::expect_error;
using fastai::testing::TmpDir;

namespace {

void silence(Learner& l) {
  static std::FILE* devnull = std::fopen("/dev/null", "w");
  if (l.progress) l.progress->opts.out = devnull;
  if (l.recorder) l.recorder->logger = [](const LogRow&) {};
}

// Rows with a categorical column, a continuous one with missing values, and a label.
Table export_table(int64_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<double> x(n);
  std::vector<std::string> k(n), y(n);
  std::vector<uint8_t> na(n);
  for (int64_t i = 0; i < n; ++i) {
    x[i] = rng.uniform(-2, 2);
    static const std::string u = "u", v = "v";  // (assigning a literal trips GCC 12's false -Wrestrict)
    k[i] = rng.bernoulli(0.5) ? u : v;
    na[i] = rng.bernoulli(0.1);
    y[i] = x[i] + (k[i] == "u" ? 0.5 : -0.5) > 0 ? "pos" : "neg";
  }
  return Table({Column::from_floats("x", x, na), Column::from_strings("k", k), Column::from_strings("y", y)});
}

}  // namespace

TEST(TabularExport, LoadedLearnerPredictsLikeTheTrainedOne) {
  set_seed(5);
  auto dls = TabularDataLoaders::from_df(export_table(400, 1), {.procs = {Categorify(), FillMissing(), Normalize()},
                                                                .cat_names = {"k"}, .y_names = {"y"}, .bs = 32,
                                                                .seed = 2});
  TabularLearnerOptions o;
  o.layers = {16};
  auto learn = tabular_learner(dls, o);
  silence(learn);
  learn.fit_one_cycle(2, 1e-2);
  TmpDir tmp;
  auto file = learn.export_to(tmp.p / "sub" / "model.fai");
  ASSERT_TRUE(std::filesystem::exists(file));
  auto inf = load_tabular_learner(file);
  EXPECT_EQ(inf.to().cat_names(), learn.to().cat_names());  // includes FillMissing's x_na
  EXPECT_EQ(inf.to().vocab(), (std::vector<std::string>{"neg", "pos"}));
  Table fresh = export_table(50, 9).drop({"y"});
  auto a = learn.predict_table(fresh), b = inf.predict_table(fresh);
  EXPECT_TRUE(a.allclose(b, 1e-6, 1e-7)) << (a - b).abs().max().item<double>();
  auto p = inf.predict({{"x", ""}, {"k", "u"}});  // missing x: filled with the training median
  auto q = learn.predict({{"x", ""}, {"k", "u"}});
  EXPECT_EQ(p.decoded, q.decoded);
  EXPECT_EQ(p.row["x_na"].strings()[0], "True");
  EXPECT_TRUE(p.probs.allclose(q.probs, 1e-6, 1e-7));
}

TEST(TabularExport, CollabRoundTripAndBadFiles) {
  set_seed(6);
  std::vector<int64_t> users, items;
  std::vector<double> r;
  for (int u = 0; u < 20; ++u)
    for (int i = 0; i < 10; ++i) users.push_back(u), items.push_back(i), r.push_back(1 + (u + i) % 5);
  auto dls = CollabDataLoaders::from_df(Table({Column::from_ints("u", users), Column::from_ints("i", items),
                                               Column::from_floats("r", r)}),
                                        {.seed = 1, .bs = 16});
  CollabLearnerOptions o;
  o.n_factors = 4;
  o.y_range = std::pair{0.0, 5.5};
  auto learn = collab_learner(dls, o);
  silence(learn);
  learn.fit_one_cycle(1, 1e-2);
  TmpDir tmp;
  auto inf = load_tabular_learner(learn.export_to(tmp.p / "collab.fai"));
  auto a = learn.predict({{"u", "3"}, {"i", "7"}}), b = inf.predict({{"u", "3"}, {"i", "7"}});
  EXPECT_NEAR(a.probs.item<double>(), b.probs.item<double>(), 1e-6);

  expect_error([&] { load_tabular_learner(tmp.p / "nope.fai"); }, {"nope.fai", "no file"});
  auto junk = tmp.write("junk.fai", "not an archive at all");
  expect_error([&] { load_tabular_learner(junk); }, {"junk.fai", "cannot read"});
  learn.path = tmp.p;
  auto saved = learn.save("weights");  // a Learner::save file: an archive, but no export metadata
  expect_error([&] { load_tabular_learner(saved); }, {"weights.pth", "not a file written by export_to"});
  // Exporting over a folder fails and leaves no temporary file behind.
  std::filesystem::create_directories(tmp.p / "dir.fai");
  EXPECT_THROW(learn.export_to(tmp.p / "dir.fai"), std::exception);
  int n_files = 0;
  for (auto& e : std::filesystem::directory_iterator(tmp.p)) n_files += e.is_regular_file();
  EXPECT_EQ(n_files, 2);  // collab.fai, junk.fai
}
