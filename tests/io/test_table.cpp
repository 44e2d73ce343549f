// Column and Table: constructors and invariants, typed access, unique, astype / to_category,
// tensor conversion, row subsets, column errors, and the to_string layout.
#include "test_util.h"
#include "fastai/core/error.h"
#include "fastai/io/table.h"

#include <ATen/ops/arange.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

namespace table_test {

using fastai::Column;
using fastai::DType;
using fastai::Table;

const double NaN = std::numeric_limits<double>::quiet_NaN();

using fastai::testing::expect_error;

Table sample() {
  return Table({Column::from_ints("age", {30, 58, 46, 24}, {0, 0, 1, 0}),
                Column::from_floats("income", {129.5, NaN, 200.0, 0.25}),
                Column::from_bools("owner", {1, 0, 0, 1}),
                Column::from_strings("job", {"fixed", "freelance", "", "fixed"}, {0, 0, 1, 0})});
}

TEST(Table, ColumnConstructionAndMissing) {
  auto c = Column::from_floats("x", {1.0, NaN, 3.0}, {0, 0, 1});
  EXPECT_EQ(c.dtype(), DType::Float64);
  EXPECT_EQ(c.size(), 3u);
  EXPECT_EQ(c.na_count(), 2u);
  EXPECT_FALSE(c.is_na(0));
  EXPECT_TRUE(c.is_na(1));  // NaN counts as missing
  EXPECT_TRUE(std::isnan(c.floats()[2]));  // flagged entries become NaN
  EXPECT_EQ(c.na_mask(), (std::vector<uint8_t>{0, 1, 1}));

  auto i = Column::from_ints("n", {5, 6});
  EXPECT_FALSE(i.has_na());
  EXPECT_EQ(i.na_mask(), (std::vector<uint8_t>{0, 0}));
  auto b = Column::from_bools("b", {7, 0, 1});
  EXPECT_EQ(b.bools(), (std::vector<uint8_t>{1, 0, 1}));

  auto cat = Column::from_codes("c", {1, -1, 0}, {"a", "b"});
  EXPECT_EQ(cat.na_count(), 1u);
  EXPECT_EQ(cat.str(0), "b");
  EXPECT_EQ(cat.str(1), "");

  expect_error([] { Column::from_ints("n", {1, 2}, {0}); }, {"column 'n'", "1 flags for 2 values"});
  expect_error([] { Column::from_codes("c", {0, 2}, {"a", "b"}); }, {"column 'c'", "row 1", "code 2", "[-1, 2)"});
  expect_error([] { Column::from_codes("c", {0}, {"a", "a"}); }, {"column 'c'", "'a' is listed twice"});
}

TEST(Table, TypedAccessorsNameColumnAndDtype) {
  auto t = sample();
  EXPECT_EQ(t["age"].ints()[1], 58);
  EXPECT_EQ(t["job"].strings()[0], "fixed");
  expect_error([&] { (void)t["age"].floats(); }, {"column 'age' is int64, not float64"});
  expect_error([&] { (void)t["job"].ints(); }, {"column 'job' is string, not int64"});
  expect_error([&] { (void)t["income"].codes(); }, {"column 'income' is float64, not category"});
  expect_error([&] { (void)t["job"].as_double(0); }, {"column 'job' is string"});
  EXPECT_DOUBLE_EQ(t["owner"].as_double(0), 1.0);
  EXPECT_TRUE(std::isnan(t["age"].as_double(2)));
  EXPECT_EQ(t["owner"].str(1), "False");
  EXPECT_EQ(t["income"].str(2), "200.0");
  EXPECT_EQ(t["income"].str(3), "0.25");
}

TEST(Table, UniqueIsSortedWithoutMissing) {
  auto ints = Column::from_ints("i", {3, 1, 3, 2, 9}, {0, 0, 0, 0, 1}).unique();
  EXPECT_EQ(ints.ints(), (std::vector<int64_t>{1, 2, 3}));
  auto strs = Column::from_strings("s", {"b", "a", "b", "c", ""}, {0, 0, 0, 0, 1}).unique();
  EXPECT_EQ(strs.strings(), (std::vector<std::string>{"a", "b", "c"}));
  auto dbl = Column::from_floats("f", {2.5, NaN, -1.0, 2.5}).unique();
  EXPECT_EQ(dbl.floats(), (std::vector<double>{-1.0, 2.5}));
  auto bools = Column::from_bools("b", {1, 1}).unique();
  EXPECT_EQ(bools.bools(), (std::vector<uint8_t>{1}));
  // categories: in category order (not text order), only those present
  auto cat = Column::from_codes("c", {2, 0, 2, -1}, {"low", "mid", "high"}).unique();
  EXPECT_EQ(cat.codes(), (std::vector<int32_t>{0, 2}));
  EXPECT_EQ(cat.categories().size(), 3u);
  EXPECT_EQ(Column::from_strings("s", {"x", "y", "x"}).n_unique(), 2u);
}

TEST(Table, ToCategory) {
  auto s = Column::from_strings("cut", {"Ideal", "Good", "", "Ideal", "Fair"}, {0, 0, 1, 0, 0});
  auto c = fastai::to_category(s);
  EXPECT_EQ(c.dtype(), DType::Category);
  EXPECT_EQ(c.categories(), (std::vector<std::string>{"Fair", "Good", "Ideal"}));
  EXPECT_EQ(c.codes(), (std::vector<int32_t>{2, 1, -1, 2, 0}));
  // given levels keep their order (R's ordered factor levels)
  auto o = s.to_category({"Fair", "Good", "Very Good", "Premium", "Ideal"});
  EXPECT_EQ(o.codes(), (std::vector<int32_t>{4, 1, -1, 4, 0}));
  expect_error([&] { (void)s.to_category({"Good", "Ideal"}); },
               {"column 'cut'", "row 4", "'Fair' is not one of the 2 categories"});
  // numbers: numeric order, not text order
  auto n = Column::from_ints("n", {10, 2, 10}).to_category();
  EXPECT_EQ(n.categories(), (std::vector<std::string>{"2", "10"}));
  EXPECT_EQ(n.codes(), (std::vector<int32_t>{1, 0, 1}));
  // back to strings
  auto back = c.astype(DType::String);
  EXPECT_EQ(back, s);
}

TEST(Table, Astype) {
  auto s = Column::from_strings("price", {"1", " 2 ", "+3", ""}, {0, 0, 0, 1});
  auto i = s.astype(DType::Int64);
  EXPECT_EQ(i.ints(), (std::vector<int64_t>{1, 2, 3, 0}));
  EXPECT_TRUE(i.is_na(3));
  auto f = i.astype(DType::Float64);
  EXPECT_EQ(f.floats()[2], 3.0);
  EXPECT_TRUE(f.is_na(3));
  EXPECT_EQ(f.astype(DType::Int64), i);
  expect_error([] { (void)Column::from_strings("price", {"1", "abc"}).astype(DType::Float64); },
               {"column 'price'", "row 1", "expected a number", "'abc'"});
  expect_error([] { (void)Column::from_floats("x", {1.0, 2.5}).astype(DType::Int64); },
               {"column 'x'", "row 1", "whole number", "'2.5'"});
  expect_error([] { (void)Column::from_ints("x", {0, 2}).astype(DType::Bool); }, {"column 'x'", "row 1", "0 or 1"});
  auto b = Column::from_strings("b", {"TRUE", "false"}).astype(DType::Bool);
  EXPECT_EQ(b.bools(), (std::vector<uint8_t>{1, 0}));
  EXPECT_EQ(b.astype(DType::String).strings(), (std::vector<std::string>{"True", "False"}));

  auto t = sample().astype({{"age", DType::Float64}, {"job", DType::Category}});
  EXPECT_EQ(t["age"].dtype(), DType::Float64);
  EXPECT_EQ(t["job"].dtype(), DType::Category);
  EXPECT_EQ(t["owner"].dtype(), DType::Bool);
  expect_error([] { (void)sample().astype({{"agee", DType::Float64}}); }, {"no column 'agee'", "did you mean 'age'"});
}

TEST(Table, ToTensor) {
  auto t = sample();
  auto x = t["income"].to_tensor();
  EXPECT_EQ(x.scalar_type(), at::kFloat);
  ASSERT_EQ(x.numel(), 4);
  EXPECT_FLOAT_EQ(x[0].item<float>(), 129.5f);
  EXPECT_TRUE(std::isnan(x[1].item<float>()));
  auto age = t["age"].to_tensor();  // int64 column, missing -> NaN as float
  EXPECT_TRUE(std::isnan(age[2].item<float>()));
  EXPECT_FLOAT_EQ(age[3].item<float>(), 24.f);
  expect_error([&] { (void)t["age"].to_tensor({.dtype = at::kLong}); },
               {"column 'age'", "1 missing values", "first at row 2", "fill_na"});
  auto filled = t["age"].to_tensor({.dtype = at::kLong, .fill_na = -1});
  EXPECT_EQ(filled.scalar_type(), at::kLong);
  EXPECT_EQ(filled[2].item<int64_t>(), -1);
  EXPECT_EQ(filled[1].item<int64_t>(), 58);
  auto owner = t["owner"].to_tensor({.dtype = at::kLong});
  EXPECT_EQ(owner.sum().item<int64_t>(), 2);
  auto d = t["income"].to_tensor({.dtype = at::kDouble, .fill_na = 0.0});
  EXPECT_EQ(d[1].item<double>(), 0.0);
  auto codes = Column::from_codes("c", {1, 0}, {"a", "b"}).to_tensor({.dtype = at::kLong});
  EXPECT_EQ(codes[0].item<int64_t>(), 1);
  expect_error([&] { (void)t["job"].to_tensor(); }, {"column 'job' is string"});
  expect_error([&] { (void)t["income"].to_tensor({.dtype = at::kInt}); },
               {"column 'income'", "float32, float64 or int64"});

  auto m = t.to_tensor({"owner", "income"}, {.fill_na = 0.0});
  ASSERT_EQ(m.sizes(), (std::vector<int64_t>{4, 2}));
  EXPECT_FLOAT_EQ(m[3][0].item<float>(), 1.f);
  EXPECT_FLOAT_EQ(m[3][1].item<float>(), 0.25f);
  EXPECT_FLOAT_EQ(m[1][1].item<float>(), 0.f);
}

TEST(Table, ColumnsAndErrors) {
  auto t = sample();
  EXPECT_EQ(t.n_rows(), 4u);
  EXPECT_EQ(t.n_cols(), 4u);
  EXPECT_EQ(t.column_names(), (std::vector<std::string>{"age", "income", "owner", "job"}));
  EXPECT_TRUE(t.has_column("job"));
  EXPECT_FALSE(t.has_column("Job"));
  expect_error([&] { (void)t["incme"]; },
               {"no column 'incme'", "did you mean 'income'", "'age', 'income', 'owner', 'job'"});
  expect_error([&] { (void)t["JOB"]; }, {"did you mean 'job'"});
  try {
    (void)t["zzzzzzzz"];
    ADD_FAILURE();
  } catch (const fastai::Error& e) {
    EXPECT_EQ(std::string(e.what()).find("did you mean"), std::string::npos) << e.what();
  }
  expect_error([&] { t.add_column(Column::from_ints("age", {1, 2, 3, 4})); }, {"already has a column 'age'"});
  expect_error([&] { t.add_column(Column::from_ints("n", {1, 2})); }, {"column 'n' has 2 rows, the table has 4"});
  expect_error([] { Table({Column::from_ints("a", {1}), Column::from_ints("a", {2})}); }, {"already has a column 'a'"});

  t.add_column(Column::from_ints("id", {1, 2, 3, 4}));
  EXPECT_EQ(t.n_cols(), 5u);
  t.set_column(Column::from_floats("id", {0.5, 1.5, 2.5, 3.5}));
  EXPECT_EQ(t.n_cols(), 5u);
  EXPECT_EQ(t["id"].dtype(), DType::Float64);
  auto d = t.drop({"id", "owner"});
  EXPECT_EQ(d.column_names(), (std::vector<std::string>{"age", "income", "job"}));
  expect_error([&] { (void)t.drop({"nope"}); }, {"no column 'nope'"});
  auto s = t.select({"job", "age"});
  EXPECT_EQ(s.column_names(), (std::vector<std::string>{"job", "age"}));
  EXPECT_EQ(s.n_rows(), 4u);
  EXPECT_EQ(s.column(0).name(), "job");
  expect_error([&] { (void)s.column(2); }, {"column number 2"});
}

TEST(Table, RowSubsets) {
  auto t = sample();
  auto k = t.take({3, 0, 2});
  EXPECT_EQ(k.n_rows(), 3u);
  EXPECT_EQ(k["age"].ints(), (std::vector<int64_t>{24, 30, 0}));
  EXPECT_TRUE(k["age"].is_na(2));
  EXPECT_EQ(k["job"].strings(), (std::vector<std::string>{"fixed", "fixed", ""}));
  EXPECT_TRUE(k["job"].is_na(2));
  auto no_na = t.take({0, 1});
  EXPECT_FALSE(no_na["age"].has_na());
  expect_error([&] { (void)t.take({0, 4}); }, {"take: row index 4", "position 1", "[0, 4)"});
  expect_error([&] { (void)t.take({-1}); }, {"row index -1"});

  auto sl = t.slice(1, 3);
  EXPECT_EQ(sl.n_rows(), 2u);
  EXPECT_EQ(sl["income"].floats()[1], 200.0);
  EXPECT_EQ(t.slice(3, 100).n_rows(), 1u);
  EXPECT_EQ(t.slice(5, 2).n_rows(), 0u);
  EXPECT_EQ(t.head(2), t.take({0, 1}));
  EXPECT_EQ(t.head(), t);
  EXPECT_EQ(t.tail(1), t.take({3}));
  EXPECT_NE(t.head(2), t.take({1, 0}));

  auto by_tensor = t.take(at::arange(3, 0, -1));
  EXPECT_EQ(by_tensor, t.take({3, 2, 1}));
  expect_error([&] { (void)t.take(at::arange(2).to(at::kFloat)); }, {"1-D integer tensor"});
}

TEST(Table, ToStringLayout) {
  auto t = Table({Column::from_ints("a", {1, 22, 3}), Column::from_floats("price", {0.5, NaN, 12.25}),
                  Column::from_strings("name", {"x", "yy", ""}, {0, 0, 1}), Column::from_bools("ok", {1, 0, 1})});
  const std::string want =
      "    a  price  name     ok\n"
      "0   1   0.50     x   True\n"
      "1  22    NaN    yy  False\n"
      "2   3  12.25   NaN   True";
  EXPECT_EQ(t.to_string(), want);

  std::vector<int64_t> v(12);
  for (int i = 0; i < 12; ++i) v[static_cast<std::size_t>(i)] = i * 10;
  auto big = Table({Column::from_ints("v", v), Column::from_floats("f", std::vector<double>(12, 2.0))});
  const std::string want_cut =
      "       v    f\n"
      "0      0  2.0\n"
      "1     10  2.0\n"
      "2     20  2.0\n"
      "...  ...  ...\n"
      "10   100  2.0\n"
      "11   110  2.0\n"
      "\n"
      "[12 rows x 2 columns]";
  EXPECT_EQ(big.to_string(5), want_cut);
  EXPECT_EQ(big.to_string(0).find("..."), std::string::npos);  // 0 = every row

  auto wide = Table({Column::from_strings("s", {std::string(60, 'z') + "\n"})});
  // a cell is cut to 50 characters (47 + "..."), its newline shown as \n
  EXPECT_EQ(wide.to_string(), std::string(52, ' ') + "s\n0  " + std::string(47, 'z') + "...");
  EXPECT_EQ(Table().to_string(), "Empty Table\nColumns: []\nIndex: []");
  EXPECT_EQ(t.head(0).to_string(), "Empty Table\nColumns: [a, price, name, ok]\nIndex: []");
  auto tiny = Table({Column::from_floats("t", {1e-8, 1.0})});
  EXPECT_EQ(tiny.to_string(), std::string(14, ' ') + "t\n0  1.000000e-08\n1  1.000000e+00");
}

}  // namespace table_test
