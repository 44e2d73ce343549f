// Tabular procs (Categorify, FillMissing, Normalize): state learned on training rows only,
// encode / decode, fastai's order, JSON state, and errors that name the column and row.
#include <fastai/core/transforms.h>
#include <fastai/tabular/core.h>
#include <fastai/tabular/procs.h>
#include <gtest/gtest.h>

#include <cmath>

#include "test_util.h"

using namespace fastai;
using fastai::testing::expect_error;

namespace {

constexpr double NaN = std::numeric_limits<double>::quiet_NaN();

// 6 rows: 0..3 train, 4..5 valid.
Table small_table() {
  return Table({Column::from_strings("color", {"red", "blue", "red", "", "green", "blue"}, {0, 0, 0, 1, 0, 0}),
                Column::from_ints("size", {10, 9, 100, 9, 7, 10}),
                Column::from_floats("w", {1.0, NaN, 3.0, 6.0, NaN, 2.0}),
                Column::from_floats("h", {2.0, 4.0, 4.0, 6.0, 8.0, 10.0}),
                Column::from_strings("y", {"a", "b", "a", "b", "b", "a"})});
}

TabularPandas make_to(std::vector<ProcRef> procs, TabularOptions o = {}) {
  o.procs = std::move(procs);
  if (o.cat_names.empty()) o.cat_names = {"color", "size"};
  if (o.cont_names.empty()) o.cont_names = {"w", "h"};
  if (o.y_names.empty()) o.y_names = {"y"};
  if (o.splits.empty()) o.splits = {{0, 1, 2, 3}, {4, 5}};
  return TabularPandas(small_table(), o);
}

}  // namespace

TEST(TabularProcs, CategorifyLearnsSortedTrainingCategoriesWithNaFirst) {
  auto to = make_to({Categorify()});
  auto cls = to.classes();
  EXPECT_EQ(cls["color"], (std::vector<std::string>{"#na#", "blue", "red"}));   // green only in valid
  EXPECT_EQ(cls["size"], (std::vector<std::string>{"#na#", "9", "10", "100"}));  // numbers sort numerically
  const auto& color = to.items()["color"].ints();
  // red blue red NA | green (unseen) blue
  EXPECT_EQ(color, (std::vector<int64_t>{2, 1, 2, 0, 0, 1}));
  EXPECT_EQ(to.items()["size"].ints(), (std::vector<int64_t>{2, 1, 3, 1, 0, 2}));  // 7 unseen -> 0
}

TEST(TabularProcs, CategorifyUserClassesAndDecode) {
  auto to = make_to({Categorify({.classes = {{"color", {"red", "green", "blue"}}}})});
  EXPECT_EQ(to.classes()["color"], (std::vector<std::string>{"#na#", "red", "green", "blue"}));
  EXPECT_EQ(to.items()["color"].ints(), (std::vector<int64_t>{1, 3, 1, 0, 2, 3}));
  auto t = to.tensors(to.all_rows());
  Table back = to.decode(t.cats, t.conts, t.ys);
  EXPECT_EQ(back["color"].strings(), (std::vector<std::string>{"red", "blue", "red", "#na#", "green", "blue"}));
  EXPECT_EQ(back["y"].strings(), (std::vector<std::string>{"a", "b", "a", "b", "b", "a"}));
}

TEST(TabularProcs, FillMissingMedianAddsNaColumnFromTrainingRowsOnly) {
  auto to = make_to({FillMissing(), Categorify()});
  // training w = 1, NaN, 3, 6 -> median of {1, 3, 6} = 3; h has no missing value.
  auto fm = std::dynamic_pointer_cast<FillMissing>(to.procs()[0]);
  ASSERT_TRUE(fm);
  EXPECT_EQ(fm->na_dict(), (std::map<std::string, double>{{"w", 3.0}}));
  EXPECT_EQ(to.items()["w"].floats(), (std::vector<double>{1, 3, 3, 6, 3, 2}));
  // the _na column is categorical: Categorify codes it (#na#, False, True)
  EXPECT_EQ(to.classes()["w_na"], (std::vector<std::string>{"#na#", "False", "True"}));
  EXPECT_EQ(to.items()["w_na"].ints(), (std::vector<int64_t>{1, 2, 1, 1, 2, 1}));
  EXPECT_EQ(to.cat_names(), (std::vector<std::string>{"color", "size", "w_na"}));
}

TEST(TabularProcs, FillMissingStrategies) {
  Table t({Column::from_floats("v", {2, 2, 5, 5, 1, NaN, NaN}), Column::from_floats("y", {1, 2, 3, 4, 5, 6, 7})});
  auto run = [&](FillMissingOptions o) {
    TabularPandas to(t, {.procs = {FillMissing(o)}, .cont_names = {"v"}, .y_names = {"y"}});
    return to.items()["v"].floats()[5];
  };
  EXPECT_DOUBLE_EQ(run({}), 2.0);                                               // median of {1,2,2,5,5}
  EXPECT_DOUBLE_EQ(run({.fill_strategy = FillStrategy::Mode}), 2.0);            // 2 and 5 tie: the smaller
  EXPECT_DOUBLE_EQ(run({.fill_strategy = FillStrategy::Constant}), 0.0);        // default constant
  EXPECT_DOUBLE_EQ(run({.fill_strategy = FillStrategy::Constant, .fill_vals = {{"v", -1.5}}}), -1.5);
  TabularPandas even(Table({Column::from_floats("v", {4, 1, NaN, 3, 10}), Column::from_floats("y", {1, 2, 3, 4, 5})}),
                     {.procs = {FillMissing({.add_col = false})}, .cont_names = {"v"}, .y_names = {"y"}});
  EXPECT_DOUBLE_EQ(even.items()["v"].floats()[2], 3.5);  // (3 + 4) / 2
  EXPECT_FALSE(even.items().has_column("v_na"));
}

TEST(TabularProcs, NormalizeUsesTrainingStatsDdof0AndDecodes) {
  auto to = make_to({Normalize(), Categorify(), FillMissing()});  // out of order: FillMissing still runs first
  // training h = 2, 4, 4, 6: mean 4, population std sqrt(2)
  double m = 4.0, s = std::sqrt(2.0) + 1e-7;
  const auto& h = to.items()["h"].floats();
  std::vector<double> raw{2, 4, 4, 6, 8, 10};
  for (size_t i = 0; i < raw.size(); ++i) EXPECT_NEAR(h[i], (raw[i] - m) / s, 1e-12);
  // w after the median fill: training 1, 3, 3, 6 -> mean 3.25
  auto norm = std::dynamic_pointer_cast<NormalizeTab>(to.procs().back());
  ASSERT_TRUE(norm);
  EXPECT_NEAR(norm->means().at("w"), 3.25, 1e-12);
  double var = ((1 - 3.25) * (1 - 3.25) + 2 * (3 - 3.25) * (3 - 3.25) + (6 - 3.25) * (6 - 3.25)) / 4;
  EXPECT_NEAR(norm->stds().at("w"), std::sqrt(var) + 1e-7, 1e-12);
  auto t = to.tensors(to.all_rows());
  Table back = to.decode(t.cats, t.conts);
  for (size_t i = 0; i < raw.size(); ++i) EXPECT_NEAR(back["h"].floats()[i], raw[i], 1e-5);  // float32 round trip
  EXPECT_EQ(to.procs()[0]->name(), "FillMissing");
  EXPECT_EQ(to.procs()[1]->name(), "Categorify");
  EXPECT_EQ(to.procs()[2]->name(), "Normalize");
}

TEST(TabularProcs, StateRoundTripProcessesNewRowsIdentically) {
  auto to = make_to({Categorify(), FillMissing(), Normalize()});
  auto again = TabularPandas::from_state(nlohmann::json::parse(to.state().dump()));
  Table fresh({Column::from_strings("color", {"blue", "purple"}), Column::from_ints("size", {100, 3}),
               Column::from_floats("w", {NaN, 2.5}), Column::from_floats("h", {5, 1})});
  auto a = to.process(fresh), b = again.process(fresh);
  EXPECT_TRUE(a.cats.equal(b.cats));
  EXPECT_TRUE(a.conts.equal(b.conts));
  // blue -> 1, purple unseen -> 0; size 100 -> 3, 3 unseen -> 0; w_na codes: True -> 2, False -> 1
  EXPECT_EQ(a.cats.sizes(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a.cats[0][0].item<int64_t>(), 1);
  EXPECT_EQ(a.cats[1][0].item<int64_t>(), 0);
  EXPECT_EQ(a.cats[0][1].item<int64_t>(), 3);
  EXPECT_EQ(a.cats[1][1].item<int64_t>(), 0);
  EXPECT_EQ(a.cats[0][2].item<int64_t>(), 2);
  EXPECT_EQ(a.cats[1][2].item<int64_t>(), 1);
  // Same rows as in the training table give the same tensors as the table itself.
  auto rows = to.tensors({0, 5});
  auto re = to.process(small_table().take(std::vector<int64_t>{0, 5}), true);
  EXPECT_TRUE(rows.cats.equal(re.cats));
  EXPECT_TRUE(rows.conts.allclose(re.conts));
  EXPECT_TRUE(rows.ys.equal(re.ys));
}

TEST(TabularProcs, MissingValueInAColumnWithNoneInTrainingNamesColumnAndRow) {
  Table t({Column::from_floats("v", {1, 2, 3, NaN}), Column::from_floats("y", {1, 2, 3, 4})});
  expect_error([&] { TabularPandas(t, {.procs = {FillMissing()}, .cont_names = {"v"}, .y_names = {"y"},
                                       .splits = {{0, 1, 2}, {3}}}); },
               {"'v'", "row 3", "no missing value in the training rows"});
  expect_error([&] { TabularPandas(t, {.procs = {Normalize()}, .cont_names = {"v"}, .y_names = {"y"}}); },
               {"'v'", "row 3", "FillMissing"});
  Table all_na({Column::from_floats("v", {NaN, NaN, 1}), Column::from_floats("y", {1, 2, 3})});
  expect_error([&] { TabularPandas(all_na, {.procs = {FillMissing()}, .cont_names = {"v"}, .y_names = {"y"},
                                            .splits = {{0, 1}, {2}}}); },
               {"'v'", "no value at all"});
}
