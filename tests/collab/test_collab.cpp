// CollabDataLoaders and collab_learner: ids categorified, ratings as floats, the dot model and
// the NN model learn, lookups by raw id, bad input; a short fit on movielens beats the mean.
#include <fastai/collab.h>
#include <fastai/core/random.h>
#include <fastai/learner/progress.h>
#include <fastai/learner/recorder.h>
#include <gtest/gtest.h>

#include "test_util.h"

using namespace fastai;
using fastai::testing::expect_error;

namespace {

void quiet_collab(Learner& l) {
  static std::FILE* devnull = std::fopen("/dev/null", "w");
  if (l.progress) l.progress->opts.out = devnull;
  if (l.recorder) l.recorder->logger = [](const LogRow&) {};
}

// 30 users x 20 items; rating = 1 + 3 * sigmoid(u_taste * i_kind * 3) + small user bias: learnable by dot products.
Table toy_ratings(uint64_t seed = 11) {
  Rng rng(seed);
  std::vector<double> taste(30), kind(20);
  for (auto& t : taste) t = rng.uniform(-1, 1);
  for (auto& k : kind) k = rng.uniform(-1, 1);
  std::vector<int64_t> users, items;
  std::vector<double> r;
  for (int u = 0; u < 30; ++u)
    for (int i = 0; i < 20; ++i)
      if (rng.uniform() < 0.7) {
        users.push_back(100 + u);
        items.push_back(500 + i);
        r.push_back(1 + 3 / (1 + std::exp(-3 * taste[u] * kind[i])) + 0.3 * (u % 3));
      }
  return Table({Column::from_ints("user", users), Column::from_ints("movie", items), Column::from_floats("rating", r)});
}

}  // namespace

TEST(CollabDataLoaders, CodesAndRatings) {
  Table r = toy_ratings();
  auto dls = CollabDataLoaders::from_df(r, {.seed = 1, .bs = 32});
  EXPECT_EQ(dls.user_name(), "user");
  EXPECT_EQ(dls.item_name(), "movie");
  EXPECT_EQ(dls.ids(false)[0], "#na#");
  EXPECT_EQ(dls.ids(false)[1], "100");  // numeric ids sort numerically
  EXPECT_EQ(dls.train().n() + dls.valid().n(), static_cast<int64_t>(r.n_rows()));
  EXPECT_EQ(dls.valid().n(), static_cast<int64_t>(r.n_rows() / 5));
  EXPECT_EQ(dls.train().n_inp(), 1);
  Batch b;
  dls.train().begin_epoch();
  ASSERT_TRUE(dls.train().next(b));
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].sizes(), (std::vector<int64_t>{32, 2}));
  EXPECT_EQ(b[1].sizes(), (std::vector<int64_t>{32, 1}));
  EXPECT_EQ(b[1].scalar_type(), at::kFloat);
  EXPECT_GE(b[0].min().item<int64_t>(), 1);
  EXPECT_EQ(dls.loss_hint()->name, "MSELossFlat");
  // Columns by name, in any position.
  auto named = CollabDataLoaders::from_df(r.select({"rating", "movie", "user"}),
                                          {.user_name = "user", .item_name = "movie", .rating_name = "rating", .seed = 1});
  EXPECT_EQ(named.train().n(), dls.train().n());
  expect_error([&] { CollabDataLoaders::from_df(r.select({"user", "movie"})); }, {"2 column"});
  expect_error([&] { CollabDataLoaders::from_df(r, {.rating_name = "stars"}); }, {"'stars'"});
  Table bad = r;
  bad.set_column(Column::from_strings("rating", std::vector<std::string>(r.n_rows(), "good")));
  expect_error([&] { CollabDataLoaders::from_df(bad); }, {"'rating'", "string"});
}

TEST(CollabLearner, DotModelLearnsAndLooksUpByRawId) {
  set_seed(3);
  auto dls = CollabDataLoaders::from_df(toy_ratings(), {.seed = 2, .bs = 32});
  auto learn = collab_learner(dls, {.n_factors = 8, .y_range = std::pair{0.0, 5.5}});
  auto* m = dynamic_cast<EmbeddingDotBiasImpl*>(learn.model.module.get());
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->n_users, 31);  // 30 + #na#
  EXPECT_EQ(m->n_items, 21);
  quiet_collab(learn);
  double before = learn.validate()[0];
  learn.fit_one_cycle(10, 5e-2, {.wd = 0.01});
  double after = learn.validate()[0];
  EXPECT_LT(after, before * 0.5) << "before " << before << " after " << after;
  auto p = learn.predict({{"user", "101"}, {"movie", "505"}});
  EXPECT_GE(p.probs.item<double>(), 0.0);
  EXPECT_LE(p.probs.item<double>(), 5.5);
  EXPECT_EQ(p.row["user"].strings()[0], "101");
  auto bias = collab_bias(learn, dls, {"500", "519"});
  EXPECT_EQ(bias.sizes(), (std::vector<int64_t>{2}));
  auto w = collab_weight(learn, dls, {"100"}, false);
  EXPECT_EQ(w.sizes(), (std::vector<int64_t>{1, 8}));
  EXPECT_TRUE(w[0].equal(m->u_weight->weight[1].detach()));
  expect_error([&] { collab_bias(learn, dls, {"99999"}); }, {"item id '99999'", "never seen"});
}

TEST(CollabLearner, EmbeddingNNModel) {
  set_seed(4);
  auto dls = CollabDataLoaders::from_df(toy_ratings(), {.seed = 2, .bs = 32});
  CollabLearnerOptions o;
  o.use_nn = true;
  o.n_factors = 16;
  o.y_range = std::pair{0.0, 5.5};
  auto learn = collab_learner(dls, o);
  auto* m = dynamic_cast<TabularModelImpl*>(learn.model.module.get());
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->emb_szs(), (std::vector<EmbSz>{{31, emb_sz_rule(31)}, {21, emb_sz_rule(21)}}));
  EXPECT_EQ(m->n_cont(), 0);
  quiet_collab(learn);
  double before = learn.validate()[0];
  learn.fit_one_cycle(10, 1e-2);
  EXPECT_LT(learn.validate()[0], before * 0.6) << "before " << before;
  expect_error([&] { collab_bias(learn, dls, {"500"}); }, {"not an EmbeddingDotBias"});
}

TEST(CollabLearner, MovielensBeatsTheMeanRating) {
  set_seed(42);
  auto dls = CollabDataLoaders::from_csv(untar_data(URLs::MOVIELENS) / "ratings.csv", {.seed = 42, .bs = 512});
  EXPECT_EQ(dls.train().n() + dls.valid().n(), 100004);
  auto learn = collab_learner(dls, {.n_factors = 50, .y_range = std::pair{0.0, 5.5}});
  quiet_collab(learn);
  learn.fit_one_cycle(1, 5e-3, {.wd = 0.1});
  double mse = learn.validate()[0];
  // The constant predictor: the mean training rating, scored on the validation ratings.
  const auto& to = dls.to();
  auto ytr = to.tensors(to.train_idx()).ys, yva = to.tensors(to.valid_idx()).ys;
  double constant = (yva - ytr.mean()).pow(2).mean().item<double>();
  EXPECT_LT(mse, constant * 0.9) << "constant predictor MSE " << constant;
}
