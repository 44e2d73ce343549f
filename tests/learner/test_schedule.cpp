// Annealers, combine_scheds / combined_cos (checked against the spec's 1cycle and fine_tune
// tables, §7.1 / §7.2) and ParamScheduler's per-group evaluation.
#include "fastai/core/error.h"
#include "fastai/learner/schedule.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <vector>

namespace sched_test {

// Relative closeness: |a-b| <= rel*|b|.
::testing::AssertionResult rel_near(double a, double b, double rel) {
  if (std::abs(a - b) <= rel * std::abs(b)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << a << " vs expected " << b << " (relative error "
                                       << std::abs(a - b) / std::abs(b) << " > " << rel << ")";
}

}  // namespace sched_test

TEST(Schedule, AnnealersAtKnownPoints) {
  const double pi = std::numbers::pi;
  for (double pos : {0.0, 0.1, 0.25, 0.5, 0.8, 1.0}) {
    EXPECT_DOUBLE_EQ(fastai::SchedLin(2, 6)(pos), 2 + 4 * pos);
    EXPECT_DOUBLE_EQ(fastai::SchedNo(3, 9)(pos), 3);
    EXPECT_NEAR(fastai::SchedExp(1e-7, 10)(pos), std::exp(std::log(1e-7) + pos * std::log(1e8)), 1e-12 * (1 + 1e8 * pos));
    // Cosine: (1 - cos(pi*pos))/2 of the way from start to end.
    EXPECT_NEAR(fastai::SchedCos(1, 3)(pos), 1 + 2 * (1 - std::cos(pi * pos)) / 2, 1e-12);
    EXPECT_NEAR(fastai::SchedPoly(5, 1, 2)(pos), 5 - 4 * pos * pos, 1e-12);
    EXPECT_NEAR(fastai::SchedPoly(0, 8, 0.5)(pos), 8 * std::sqrt(pos), 1e-12);
  }
  // Endpoints and the middle exactly.
  EXPECT_DOUBLE_EQ(fastai::SchedCos(0.95, 0.85)(0), 0.95);
  EXPECT_NEAR(fastai::SchedCos(0.95, 0.85)(1), 0.85, 1e-15);
  EXPECT_NEAR(fastai::SchedCos(0, 10)(0.5), 5, 1e-12);
  EXPECT_NEAR(fastai::SchedExp(1e-7, 10)(0.5), 1e-7 * 1e4, 1e-15);
  // spec §7.3: lr_find's lr at iteration i of 100.
  EXPECT_TRUE(sched_test::rel_near(fastai::SchedExp(1e-7, 10)(0.01), 1.2023e-7, 1e-4));
  EXPECT_TRUE(sched_test::rel_near(fastai::SchedExp(1e-7, 10)(0.99), 8.3176, 1e-4));
}

TEST(Schedule, OneCycleTableLrAndMom) {
  // spec §7.1: fit_one_cycle defaults (lr_max 1e-3, div 25, div_final 1e5, pct_start 0.25).
  auto lr = fastai::combined_cos(0.25, 1e-3 / 25, 1e-3, 1e-3 / 1e5);
  auto mom = fastai::combined_cos(0.25, 0.95, 0.85, 0.95);
  struct Row { double pos, lr, mom; };
  const Row table[] = {
      {0, 4.000000e-05, 0.950000},     {0.05, 1.316718e-04, 0.940451}, {0.125, 5.200000e-04, 0.900000},
      {0.25, 1.000000e-03, 0.850000},  {0.3, 9.890739e-04, 0.851093},  {0.5, 7.500025e-04, 0.875000},
      {0.625, 5.000050e-04, 0.900000}, {0.75, 2.500075e-04, 0.925000}, {0.9, 4.323684e-05, 0.945677},
      {0.99, 4.485806e-07, 0.949956},  {1.0, 1.000000e-08, 0.950000},
  };
  for (const auto& r : table) {
    SCOPED_TRACE(r.pos);
    EXPECT_TRUE(sched_test::rel_near(lr(r.pos), r.lr, 1e-6));
    EXPECT_TRUE(sched_test::rel_near(mom(r.pos), r.mom, 1e-6));
  }
}

TEST(Schedule, FineTuneTablePerGroup) {
  // spec §7.2 phase 1: slice(2e-3) on 3 groups -> peaks [2e-4, 2e-4, 2e-3], pct_start 0.99, div 25.
  const std::vector<double> peaks1 = {2e-4, 2e-4, 2e-3};
  std::vector<fastai::Schedule> p1;
  for (double l : peaks1) p1.push_back(fastai::combined_cos(0.99, l / 25, l, l / 1e5));
  auto at0 = fastai::ParamScheduler::group_values("lr", p1, 0, 3);
  auto mid = fastai::ParamScheduler::group_values("lr", p1, 0.5, 3);
  auto top = fastai::ParamScheduler::group_values("lr", p1, 0.99, 3);
  const double exp0[] = {8e-6, 8e-6, 8e-5}, exp_mid[] = {1.0552e-4, 1.0552e-4, 1.0552e-3};
  for (int g = 0; g < 3; ++g) {
    EXPECT_TRUE(sched_test::rel_near(at0[g], exp0[g], 1e-9));
    EXPECT_TRUE(sched_test::rel_near(mid[g], exp_mid[g], 1e-4));
    EXPECT_TRUE(sched_test::rel_near(top[g], peaks1[g], 1e-9));
  }
  auto mom1 = fastai::combined_cos(0.99, 0.95, 0.85, 0.95);
  EXPECT_TRUE(sched_test::rel_near(mom1(0.5), 0.89921, 1e-5));
  EXPECT_NEAR(mom1(0.99), 0.85, 1e-12);

  // Phase 2: slice(1e-5, 1e-3), pct_start 0.3, div 5.
  const std::vector<double> peaks2 = {1e-5, 1e-4, 1e-3};
  std::vector<fastai::Schedule> p2;
  for (double l : peaks2) p2.push_back(fastai::combined_cos(0.3, l / 5, l, l / 1e5));
  // value = peak * mult (the spec rounds pos 0.65 to 5e-6/5e-5/5e-4; exactly it is (peak + peak/1e5)/2).
  struct Row { double pos; double mult; };
  for (auto [pos, mult] : {Row{0, 0.2}, Row{0.15, 0.6}, Row{0.65, (1 + 1e-5) / 2}, Row{1, 1e-5}}) {
    auto v = fastai::ParamScheduler::group_values("lr", p2, pos, 3);
    for (int g = 0; g < 3; ++g) EXPECT_TRUE(sched_test::rel_near(v[g], peaks2[g] * mult, 1e-6)) << "pos " << pos;
  }
}

TEST(Schedule, CombineSchedsPiecewise) {
  // 30% linear 0->3, 50% constant 7, 20% cosine 1->0.
  auto f = fastai::combine_scheds({0.3, 0.5, 0.2},
                                  {fastai::SchedLin(0, 3), fastai::SchedNo(7, 99), fastai::SchedCos(1, 0)});
  EXPECT_DOUBLE_EQ(f(0), 0);
  EXPECT_NEAR(f(0.15), 1.5, 1e-12);        // halfway through the first piece
  EXPECT_NEAR(f(0.2999999), 3, 1e-5);
  EXPECT_DOUBLE_EQ(f(0.3), 7);             // a boundary belongs to the next piece (fastai: pos >= pct)
  EXPECT_DOUBLE_EQ(f(0.6), 7);
  EXPECT_NEAR(f(0.8), 1, 1e-12);           // start of the cosine piece
  EXPECT_NEAR(f(0.9), 0.5, 1e-12);         // its middle
  EXPECT_NEAR(f(1.0), 0, 1e-12);           // pos 1: last schedule at 1
  // Pieces each see their own 0..1 position.
  std::vector<double> seen;
  auto rec = [&seen](double p) { seen.push_back(p); return p; };
  auto g = fastai::combine_scheds({0.25, 0.75}, {rec, rec});
  g(0.125);
  g(0.25);
  g(0.625);
  g(1.0);
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_NEAR(seen[0], 0.5, 1e-12);
  EXPECT_NEAR(seen[1], 0.0, 1e-12);
  EXPECT_NEAR(seen[2], 0.5, 1e-12);
  EXPECT_NEAR(seen[3], 1.0, 1e-12);
}

TEST(Schedule, CombineSchedsZeroWidthPieces) {
  // A zero-width first piece is never used; pct_start 1 (zero-width last piece) ends on the first
  // piece's end at pos < 1 and on the last schedule at 1 at pos 1 (fastai would give NaN there).
  auto a = fastai::combine_scheds({0, 1}, {fastai::SchedNo(-1, -1), fastai::SchedLin(0, 10)});
  EXPECT_DOUBLE_EQ(a(0), 0);
  EXPECT_DOUBLE_EQ(a(0.5), 5);
  EXPECT_DOUBLE_EQ(a(1), 10);
  auto b = fastai::combine_scheds({1, 0}, {fastai::SchedLin(0, 10), fastai::SchedNo(4, 4)});
  EXPECT_DOUBLE_EQ(b(0.5), 5);
  EXPECT_NEAR(b(0.999), 9.99, 1e-12);
  EXPECT_DOUBLE_EQ(b(1), 4);
  // SGDR-like: three cosine cycles of 1, 2 and 4 epochs out of 7.
  auto c = fastai::combine_scheds({1. / 7, 2. / 7, 4. / 7},
                                  {fastai::SchedCos(1, 0), fastai::SchedCos(1, 0), fastai::SchedCos(1, 0)});
  EXPECT_NEAR(c(0), 1, 1e-12);
  EXPECT_NEAR(c(1. / 7), 1, 1e-12);  // restart
  EXPECT_NEAR(c(2. / 7), 0.5, 1e-12);
  EXPECT_NEAR(c(3. / 7), 1, 1e-12);  // restart
  EXPECT_NEAR(c(1), 0, 1e-12);
}

TEST(Schedule, CombineSchedsBadInput) {
  using fastai::combine_scheds;
  using fastai::SchedLin;
  EXPECT_THROW(combine_scheds({0.5, 0.4}, {SchedLin(0, 1), SchedLin(0, 1)}), fastai::Error);       // sums to 0.9
  EXPECT_THROW(combine_scheds({0.5, 0.6}, {SchedLin(0, 1), SchedLin(0, 1)}), fastai::Error);       // sums to 1.1
  EXPECT_THROW(combine_scheds({1.5, -0.5}, {SchedLin(0, 1), SchedLin(0, 1)}), fastai::Error);      // negative
  EXPECT_THROW(combine_scheds({0.5, 0.5}, {SchedLin(0, 1)}), fastai::Error);                        // count
  EXPECT_THROW(combine_scheds({1.0}, {SchedLin(0, 1), SchedLin(0, 1)}), fastai::Error);            // count
  EXPECT_THROW(combine_scheds({}, {}), fastai::Error);                                               // empty
  EXPECT_THROW(combine_scheds({NAN, 1.0}, {SchedLin(0, 1), SchedLin(0, 1)}), fastai::Error);       // NaN
  EXPECT_THROW(combine_scheds({0.5, 0.5}, {SchedLin(0, 1), fastai::Schedule{}}), fastai::Error);   // no function
  // Within 1e-6 of 1 is accepted (fractions like 1/3 do not add up exactly).
  EXPECT_NO_THROW(combine_scheds({1. / 3, 1. / 3, 1. / 3}, {SchedLin(0, 1), SchedLin(0, 1), SchedLin(0, 1)}));
  EXPECT_NO_THROW(combine_scheds({0.3, 0.7 + 5e-7}, {SchedLin(0, 1), SchedLin(0, 1)}));
  try {
    combine_scheds({0.5, 0.4}, {SchedLin(0, 1), SchedLin(0, 1)});
    FAIL() << "expected an Error";
  } catch (const fastai::Error& e) {
    EXPECT_NE(std::string(e.what()).find("sum"), std::string::npos) << e.what();
  }
}

TEST(ParamSchedulerMath, OneScheduleForAllGroupsOrOnePerGroup) {
  std::vector<fastai::Schedule> one = {fastai::SchedLin(0, 1)};
  auto v = fastai::ParamScheduler::group_values("lr", one, 0.25, 4);
  EXPECT_EQ(v, (std::vector<double>{0.25, 0.25, 0.25, 0.25}));
  std::vector<fastai::Schedule> per = {fastai::SchedNo(1, 1), fastai::SchedNo(2, 2), fastai::SchedNo(3, 3)};
  EXPECT_EQ(fastai::ParamScheduler::group_values("mom", per, 0.5, 3), (std::vector<double>{1, 2, 3}));
  try {
    fastai::ParamScheduler::group_values("sqr_mom", per, 0.5, 2);
    FAIL() << "expected an Error";
  } catch (const fastai::Error& e) {
    EXPECT_NE(std::string(e.what()).find("sqr_mom"), std::string::npos) << e.what();
  }
  EXPECT_THROW(fastai::ParamScheduler::group_values("lr", {}, 0.5, 2), fastai::Error);
}

TEST(ParamSchedulerMath, ConstructorRejectsMissingSchedules) {
  EXPECT_THROW(fastai::ParamScheduler(fastai::Schedules{{"lr", {}}}), fastai::Error);
  EXPECT_THROW(fastai::ParamScheduler(fastai::Schedules{{"lr", {fastai::Schedule{}}}}), fastai::Error);
  fastai::ParamScheduler ps(fastai::Schedules{{"lr", {fastai::SchedLin(0, 1)}}});
  EXPECT_EQ(ps.order(), 60);
  EXPECT_FALSE(ps.run_valid);
  EXPECT_TRUE(ps.run_train);
}
