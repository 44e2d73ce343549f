// TabularPandas: target kind, tensors, bad input; cont_cat_split and add_datepart.
#include <fastai/tabular/core.h>
#include <gtest/gtest.h>

#include "test_util.h"

using namespace fastai;
using fastai::testing::expect_error;

namespace {
constexpr double kMissing = std::numeric_limits<double>::quiet_NaN();
}

TEST(TabularPandas, TargetKindVocabAndTensors) {
  Table t({Column::from_strings("c", {"x", "y", "x", "y"}), Column::from_ints("n", {1, 2, 3, 4}),
           Column::from_strings("lab", {"no", "yes", "maybe", "yes"}), Column::from_ints("num", {5, 6, 7, 8}),
           Column::from_bools("flag", {1, 0, 1, 1})});
  TabularPandas cls(t, {.procs = {Categorify()}, .cat_names = {"c"}, .cont_names = {"n"}, .y_names = {"lab"},
                        .splits = {{0, 1, 2}, {3}}});
  EXPECT_TRUE(cls.y_is_category());
  EXPECT_EQ(cls.vocab(), (std::vector<std::string>{"maybe", "no", "yes"}));
  EXPECT_EQ(cls.c(), 3);
  auto tt = cls.tensors(cls.train_idx());
  EXPECT_EQ(tt.cats.scalar_type(), at::kLong);
  EXPECT_EQ(tt.conts.scalar_type(), at::kFloat);
  EXPECT_EQ(tt.cats.sizes(), (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(tt.conts.sizes(), (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(tt.ys.sizes(), (std::vector<int64_t>{3}));
  EXPECT_EQ(std::vector<int64_t>(tt.ys.data_ptr<int64_t>(), tt.ys.data_ptr<int64_t>() + 3),
            (std::vector<int64_t>{1, 2, 0}));

  TabularPandas reg(t, {.cat_names = {}, .cont_names = {"n"}, .y_names = {"num"}});
  EXPECT_FALSE(reg.y_is_category());  // integers are numbers: regression (fastai's rule)
  EXPECT_EQ(reg.c(), 1);
  auto rt = reg.tensors(reg.all_rows());
  EXPECT_EQ(rt.ys.scalar_type(), at::kFloat);
  EXPECT_EQ(rt.ys.sizes(), (std::vector<int64_t>{4, 1}));
  EXPECT_FLOAT_EQ(rt.ys[3][0].item<float>(), 8.f);

  TabularPandas flag(t, {.cont_names = {"n"}, .y_names = {"flag"}});
  EXPECT_TRUE(flag.y_is_category());  // bools are not numbers for select_dtypes('number')
  EXPECT_EQ(flag.vocab(), (std::vector<std::string>{"False", "True"}));
  TabularPandas forced(t, {.cont_names = {"n"}, .y_names = {"num"}, .y_block = YBlock::Category});
  EXPECT_EQ(forced.vocab(), (std::vector<std::string>{"5", "6", "7", "8"}));
}

TEST(TabularPandas, BadInputNamesColumnAndRow) {
  Table t({Column::from_strings("c", {"x", "y", "x"}), Column::from_strings("n", {"1.5", "2", "abc"}),
           Column::from_floats("v", {1, kMissing, 3}), Column::from_strings("lab", {"a", "b", "zz"})});
  expect_error([&] { TabularPandas(t, {.cont_names = {"nn"}, .y_names = {"v"}}); }, {"'nn'", "did you mean"});
  expect_error([&] { TabularPandas(t, {.cat_names = {"c"}, .cont_names = {"c"}}); }, {"'c'", "listed twice"});
  expect_error([&] { TabularPandas(t, {.cont_names = {"n"}}); }, {"'n'", "row 2", "'abc'", "not a number"});
  expect_error([&] { TabularPandas(t, {.cont_names = {"v"}, .y_names = {"v2"}}); }, {"'v2'"});
  expect_error([&] { TabularPandas(t.select({"c", "v"}), {.procs = {Categorify()}, .cat_names = {"c"}, .y_names = {"v"}}); },
               {"regression target 'v'", "row 1", "missing"});
  expect_error([&] { TabularPandas(t, {.procs = {Categorify()}, .cat_names = {"c"}, .y_names = {"lab"},
                                       .splits = {{0, 1}, {2}}}); },
               {"'lab'", "row 2", "'zz'", "not among the 2 training labels"});
  expect_error([&] { TabularPandas(t, {.cat_names = {"c"}, .y_names = {"lab"}}); }, {"'c'", "Categorify"});
  expect_error([&] { TabularPandas(Table({Column::from_floats("v", {})}), {.cont_names = {"v"}}); }, {"empty"});
  expect_error([&] { TabularPandas(t, {.cat_names = {"c"}, .splits = {{0, 7}, {}}}); }, {"row index 7", "3 rows"});
}

TEST(TabularPandas, ContCatSplit) {
  std::vector<int64_t> many(30);
  for (int i = 0; i < 30; ++i) many[i] = i;
  Table t({Column::from_ints("few", std::vector<int64_t>(30, 1)), Column::from_ints("many", many),
           Column::from_floats("f", std::vector<double>(30, 0.5)), Column::from_strings("s", std::vector<std::string>(30, "a")),
           Column::from_floats("target", std::vector<double>(30, 1.0))});
  auto [cont, cat] = cont_cat_split(t, 20, {"target"});
  EXPECT_EQ(cont, (std::vector<std::string>{"many", "f"}));
  EXPECT_EQ(cat, (std::vector<std::string>{"few", "s"}));
  auto [cont2, cat2] = cont_cat_split(t, 40, {"target"});
  EXPECT_EQ(cont2, (std::vector<std::string>{"f"}));
}

TEST(TabularPandas, AddDatepart) {
  Table t({Column::from_strings("saledate", {"2019-12-30", "2020-02-29 13:45:10", "2020-01-01", "", "2021-03-31"},
                                {0, 0, 0, 1, 0})});
  Table d = add_datepart(t, "saledate", {.time = true});
  EXPECT_FALSE(d.has_column("saledate"));
  EXPECT_EQ(d["saleYear"].ints()[0], 2019);
  EXPECT_EQ(d["saleWeek"].ints()[0], 1);       // ISO week 1 of 2020
  EXPECT_EQ(d["saleDayofweek"].ints()[0], 0);  // Monday
  EXPECT_EQ(d["saleDayofyear"].ints()[1], 60);
  EXPECT_EQ(d["saleIs_month_end"].bools()[1], 1);
  EXPECT_EQ(d["saleIs_quarter_end"].bools()[1], 0);
  EXPECT_EQ(d["saleIs_year_start"].bools()[2], 1);
  EXPECT_EQ(d["saleIs_quarter_start"].bools()[2], 1);
  EXPECT_EQ(d["saleDayofweek"].ints()[2], 2);  // Wednesday
  EXPECT_EQ(d["saleElapsed"].ints()[2], 1577836800);
  EXPECT_EQ(d["saleElapsed"].ints()[1], 1582983910);
  EXPECT_EQ(d["saleHour"].ints()[1], 13);
  EXPECT_EQ(d["saleSecond"].ints()[1], 10);
  EXPECT_TRUE(d["saleYear"].is_na(3));
  EXPECT_EQ(d["saleIs_quarter_end"].bools()[4], 1);
  EXPECT_EQ(d.column_names().size(), 16u);
  Table kept = add_datepart(t, "saledate", {.prefix = "d_", .drop = false});
  EXPECT_TRUE(kept.has_column("saledate"));
  EXPECT_TRUE(kept.has_column("d_Month"));
  EXPECT_FALSE(kept.has_column("d_Hour"));
  Table bad({Column::from_strings("date", {"2020-01-01", "31/01/2020"})});
  expect_error([&] { add_datepart(bad, "date"); }, {"'date'", "row 1", "'31/01/2020'"});
}
