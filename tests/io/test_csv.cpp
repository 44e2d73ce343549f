// read_csv / write_csv: type inference, missing values, quoting, exact doubles, CRLF and BOM,
// options, every input error (file, line, column in the message), and write -> read round trips.
#include "test_util.h"
#include "fastai/io/csv.h"
#include "fastai/core/error.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

namespace csv_test {

namespace fs = std::filesystem;
using fastai::Column;
using fastai::CsvOptions;
using fastai::DType;
using fastai::read_csv;
using fastai::read_csv_string;
using fastai::Table;

using fastai::testing::TmpDir;

std::string slurp(const fs::path& f) {
  std::ifstream in(f, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

using fastai::testing::expect_error;

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

TEST(Csv, InfersEachDtype) {
  auto t = read_csv_string(
      "i,f,mixed,b,s,lower\n"
      "1,0.5,1,TRUE,a,true\n"
      "-20,2,2.5,FALSE,b b,false\n"
      "+3, 1e3 ,7,True,1,False\n");
  EXPECT_EQ(t.n_rows(), 3u);
  EXPECT_EQ(t.column_names(), (std::vector<std::string>{"i", "f", "mixed", "b", "s", "lower"}));
  EXPECT_EQ(t["i"].dtype(), DType::Int64);
  EXPECT_EQ(t["i"].ints(), (std::vector<int64_t>{1, -20, 3}));
  EXPECT_EQ(t["f"].dtype(), DType::Float64);
  EXPECT_EQ(t["f"].floats(), (std::vector<double>{0.5, 2.0, 1000.0}));
  // ints first, then a float: the whole column is Float64
  EXPECT_EQ(t["mixed"].dtype(), DType::Float64);
  EXPECT_EQ(t["mixed"].floats(), (std::vector<double>{1.0, 2.5, 7.0}));
  EXPECT_EQ(t["b"].dtype(), DType::Bool);
  EXPECT_EQ(t["b"].bools(), (std::vector<uint8_t>{1, 0, 1}));
  EXPECT_EQ(t["lower"].dtype(), DType::Bool);
  EXPECT_EQ(t["s"].dtype(), DType::String);
  EXPECT_EQ(t["s"].strings(), (std::vector<std::string>{"a", "b b", "1"}));
  for (const auto& c : t.columns()) EXPECT_FALSE(c.has_na()) << c.name();

  // an integer beyond int64 makes the column Float64; text among numbers makes it String
  auto big = read_csv_string("x,y\n1,1\n99999999999999999999,x\n");
  EXPECT_EQ(big["x"].dtype(), DType::Float64);
  EXPECT_EQ(big["x"].floats()[1], 1e20);
  EXPECT_EQ(big["y"].dtype(), DType::String);
  EXPECT_EQ(big["y"].strings()[0], "1");
  // TRUE mixed with numbers is not Bool
  EXPECT_EQ(read_csv_string("x\n1\nTRUE\n")["x"].dtype(), DType::String);
}

TEST(Csv, MissingValuesInEachDtype) {
  auto t = read_csv_string(
      "i,f,b,s,none\n"
      "1,,TRUE,,\n"
      ",2.5,,x,\n"
      "3,NA,FALSE,NA,\n",
      {.na_values = {"", "NA"}});
  EXPECT_EQ(t["i"].dtype(), DType::Int64);
  EXPECT_EQ(t["i"].na_mask(), (std::vector<uint8_t>{0, 1, 0}));
  EXPECT_EQ(t["i"].ints()[2], 3);
  EXPECT_EQ(t["f"].dtype(), DType::Float64);
  EXPECT_EQ(t["f"].na_count(), 2u);
  EXPECT_TRUE(std::isnan(t["f"].floats()[0]));
  EXPECT_EQ(t["b"].dtype(), DType::Bool);
  EXPECT_TRUE(t["b"].is_na(1));
  EXPECT_EQ(t["s"].dtype(), DType::String);
  EXPECT_EQ(t["s"].na_mask(), (std::vector<uint8_t>{1, 0, 1}));
  // a column with no value at all is Float64 of NaN (pandas)
  EXPECT_EQ(t["none"].dtype(), DType::Float64);
  EXPECT_EQ(t["none"].na_count(), 3u);

  // "NA" is text unless listed in na_values
  auto plain = read_csv_string("s,n\nNA,1\nx,\n");
  EXPECT_EQ(plain["s"].strings()[0], "NA");
  EXPECT_FALSE(plain["s"].has_na());
  EXPECT_TRUE(plain["n"].is_na(1));
  // header only: zero rows, String columns
  auto empty = read_csv_string("a,b\n");
  EXPECT_EQ(empty.n_rows(), 0u);
  EXPECT_EQ(empty.n_cols(), 2u);
}

TEST(Csv, QuotedFields) {
  auto t = read_csv_string(
      "\"name\",\"text\",\"n\"\n"
      "\"a, b\",\"say \"\"hi\"\"\",\"12\"\n"
      "\"two\nlines\",\"\",7\n"
      "x,\"\"\"\",8\n");
  ASSERT_EQ(t.n_rows(), 3u);
  EXPECT_EQ(t["name"].strings(), (std::vector<std::string>{"a, b", "two\nlines", "x"}));
  EXPECT_EQ(t["text"].strings()[0], "say \"hi\"");
  EXPECT_EQ(t["text"].strings()[2], "\"");
  // pandas: a quoted empty field is missing too, like an empty one
  EXPECT_TRUE(t["text"].is_na(1));
  // pandas: quotes do not change inference ("12" is a number)
  EXPECT_EQ(t["n"].dtype(), DType::Int64);
  EXPECT_EQ(t["n"].ints(), (std::vector<int64_t>{12, 7, 8}));

  // quoted_na = false: "" is an empty string, an empty field is still missing
  auto keep = read_csv_string("s,t\n\"\",1\n,2\n", {.quoted_na = false});
  EXPECT_EQ(keep["s"].dtype(), DType::String);
  EXPECT_FALSE(keep["s"].is_na(0));
  EXPECT_EQ(keep["s"].strings()[0], "");
  EXPECT_TRUE(keep["s"].is_na(1));
}

TEST(Csv, ExactDoubles) {
  const std::vector<double> vals = {0.1, 1.0 / 3.0, 0.30000000000000004, 2.718281828459045, 1e-300,
                                    5e-324, 1.7976931348623157e308, -123456.789012345678, 6.02214076e23};
  std::string text = "x\n";
  char buf[64];
  for (double v : vals) {
    std::snprintf(buf, sizeof buf, "%.17g\n", v);
    text += buf;
  }
  auto t = read_csv_string(text);
  ASSERT_EQ(t["x"].dtype(), DType::Float64);
  for (std::size_t i = 0; i < vals.size(); ++i)
    EXPECT_TRUE(same_bits(t["x"].floats()[i], vals[i])) << "row " << i << ": " << t["x"].floats()[i];
  // the 15-digit forms R writes read to the nearest double too
  auto r = read_csv_string("x\n3.95\n0.23\n61.5\n");
  EXPECT_EQ(r["x"].floats(), (std::vector<double>{3.95, 0.23, 61.5}));
  // and write_csv writes them back exactly
  auto again = read_csv_string(fastai::to_csv_string(t));
  for (std::size_t i = 0; i < vals.size(); ++i) EXPECT_TRUE(same_bits(again["x"].floats()[i], vals[i])) << i;
  auto inf = read_csv_string("x\ninf\n-inf\n1e400\n");
  EXPECT_TRUE(std::isinf(inf["x"].floats()[0]));
  EXPECT_LT(inf["x"].floats()[1], 0);
  EXPECT_TRUE(std::isinf(inf["x"].floats()[2]));
}

TEST(Csv, CrlfBomAndBlankLines) {
  const std::string lf = "a,b\n1,x\n2,\"y\ny\"\n";
  const std::string crlf = "\xEF\xBB\xBF" "a,b\r\n1,x\r\n\r\n2,\"y\ny\"\r\n";
  auto t1 = read_csv_string(lf), t2 = read_csv_string(crlf);
  EXPECT_EQ(t2.column_names(), (std::vector<std::string>{"a", "b"}));  // no BOM in the first name
  EXPECT_EQ(t1, t2);
  EXPECT_EQ(t2["b"].strings()[1], "y\ny");
  // no final line end; blank lines around records skipped (several columns)
  auto t3 = read_csv_string("\n\na,b\n\n1,x\n\n2,\"y\ny\"");
  EXPECT_EQ(t1, t3);
  // old Mac \r line ends
  EXPECT_EQ(read_csv_string("a,b\r1,x\r2,\"y\ny\"\r"), t1);
  // one column: an empty line is a missing value (pandas would drop the row); trailing ones end the file
  auto one = read_csv_string("a\n1\n\n3\n\n\n");
  EXPECT_EQ(one["a"].na_mask(), (std::vector<uint8_t>{0, 1, 0}));
}

TEST(Csv, Options) {
  const std::string text = "a;b;c\n1;x;2.5\n2;y;3\n3;x;4\n";
  auto t = read_csv_string(text, {.sep = ';', .usecols = {"c", "a"}});
  EXPECT_EQ(t.column_names(), (std::vector<std::string>{"a", "c"}));  // file order, as pandas
  auto two = read_csv_string(text, {.sep = ';', .max_rows = 2});
  EXPECT_EQ(two.n_rows(), 2u);
  EXPECT_EQ(two["c"].dtype(), DType::Float64);
  auto forced = read_csv_string(text, {.sep = ';', .dtypes = {{"a", DType::Float64}, {"b", DType::Category},
                                                                {"c", DType::String}}});
  EXPECT_EQ(forced["a"].dtype(), DType::Float64);
  EXPECT_EQ(forced["c"].strings(), (std::vector<std::string>{"2.5", "3", "4"}));
  EXPECT_EQ(forced["b"].categories(), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(forced["b"].codes(), (std::vector<int32_t>{0, 1, 0}));
  auto bools = read_csv_string("a,b\nTRUE,5\n,6\n", {.dtypes = {{"a", DType::Bool}, {"b", DType::Int64}}});
  EXPECT_EQ(bools["a"].dtype(), DType::Bool);
  EXPECT_TRUE(bools["a"].is_na(1));

  auto noheader = read_csv_string("1,x\n2,y\n", {.header = false});
  EXPECT_EQ(noheader.column_names(), (std::vector<std::string>{"0", "1"}));
  EXPECT_EQ(noheader.n_rows(), 2u);
  EXPECT_EQ(noheader["0"].ints(), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(read_csv_string("1,x\n2,y\n", {.header = false, .max_rows = 1}).n_rows(), 1u);
  // R's row-name column has an empty header name
  auto unnamed = read_csv_string("\"\",\"x\"\n\"1\",5\n");
  EXPECT_EQ(unnamed.column_names(), (std::vector<std::string>{"Unnamed: 0", "x"}));
}

TEST(Csv, FileErrorsNameFileLineAndColumn) {
  TmpDir d;
  const std::string missing = (d.p / "nope.csv").string();
  expect_error([&] { (void)read_csv(d.p / "nope.csv"); }, {"no such file", missing});
  expect_error([&] { (void)read_csv(d.p); }, {"is a folder"});

  auto f = d.write("short.csv", "a,b,c\n1,2,3\n4,5,6\n7,8\n");
  expect_error([&] { (void)read_csv(f); }, {f.string(), "line 4: expected 3 fields, got 2"});
  f = d.write("long.csv", "a,b\n1,2\n\n4,5,6\n");
  expect_error([&] { (void)read_csv(f); }, {"long.csv", "line 4: expected 2 fields, got 3"});

  // the quote opens on line 3 (inside the second record) and never closes
  f = d.write("quote.csv", "a,b\n1,x\n2,\"never closed\n3,z\n");
  expect_error([&] { (void)read_csv(f); }, {"quote.csv", "line 3", "column 'b'", "unterminated quoted field"});
  f = d.write("after.csv", "a,b\n1,\"x\"y\n");
  expect_error([&] { (void)read_csv(f); }, {"after.csv", "line 2", "column 'b'", "after the closing quote"});

  f = d.write("price.csv", "carat,price\n0.2,326\n0.3,327\n0.4,328\n0.5,abc\n");
  expect_error([&] { (void)read_csv(f, {.dtypes = {{"price", DType::Float64}}}); },
               {"price.csv", "column 'price', line 5: expected a number, got 'abc'"});
  expect_error([&] { (void)read_csv(f, {.dtypes = {{"carat", DType::Int64}}}); },
               {"price.csv", "column 'carat', line 2: expected an integer, got '0.2'"});
  expect_error([&] { (void)read_csv(f, {.dtypes = {{"carat", DType::Bool}}}); },
               {"column 'carat', line 2: expected TRUE or FALSE"});
  expect_error([&] { (void)read_csv(f, {.dtypes = {{"prize", DType::Float64}}}); },
               {"price.csv", "dtypes names column 'prize'", "'carat', 'price'"});
  expect_error([&] { (void)read_csv(f, {.usecols = {"carat", "cut"}}); },
               {"price.csv", "usecols names column 'cut'", "'carat', 'price'"});

  f = d.write("dup.csv", "a,b,a\n1,2,3\n");
  expect_error([&] { (void)read_csv(f); }, {"dup.csv", "line 1", "duplicate column name 'a'", "fields 1 and 3"});
  f = d.write("empty.csv", "");
  expect_error([&] { (void)read_csv(f); }, {"empty.csv", "empty", "header"});
  f = d.write("bom.csv", "\xEF\xBB\xBF\r\n\r\n");
  expect_error([&] { (void)read_csv(f); }, {"bom.csv", "empty"});
  // errors from text in memory name it as <string>
  expect_error([] { (void)read_csv_string("a\n\"x"); }, {"<string>", "line 2", "unterminated"});
  expect_error([] { (void)read_csv_string("a,b\n1,2\n", {.sep = '"'}); }, {"sep"});
}

TEST(Csv, ReadsAFileLikeTheDatasets) {
  TmpDir d;
  auto f = d.write("diamonds.csv",
                   "\"carat\",\"cut\",\"color\",\"clarity\",\"depth\",\"table\",\"price\",\"x\",\"y\",\"z\"\n"
                   "0.23,\"Ideal\",\"E\",\"SI2\",61.5,55,326,3.95,3.98,2.43\n"
                   "0.21,\"Premium\",\"E\",\"SI1\",59.8,61,326,3.89,3.84,2.31\n"
                   "0.23,\"Good\",\"E\",\"VS1\",56.9,65,327,4.05,4.07,2.31\n"
                   "0.29,\"Premium\",\"I\",\"VS2\",62.4,58.5,334,4.2,4.23,2.63\n");
  auto t = read_csv(f);
  EXPECT_EQ(t.n_rows(), 4u);
  EXPECT_EQ(t.n_cols(), 10u);
  EXPECT_EQ(t["carat"].dtype(), DType::Float64);
  EXPECT_EQ(t["cut"].dtype(), DType::String);
  EXPECT_EQ(t["table"].dtype(), DType::Float64);
  EXPECT_EQ(t["price"].dtype(), DType::Int64);
  EXPECT_EQ(t["price"].ints()[3], 334);
  auto cut = fastai::to_category(t["cut"], {"Fair", "Good", "Very Good", "Premium", "Ideal"});
  EXPECT_EQ(cut.codes(), (std::vector<int32_t>{4, 3, 1, 3}));
  const std::string shown = t.select({"carat", "cut", "price"}).to_string();
  EXPECT_EQ(shown,
            "   carat      cut  price\n"
            "0   0.23    Ideal    326\n"
            "1   0.21  Premium    326\n"
            "2   0.23     Good    327\n"
            "3   0.29  Premium    334");
}

TEST(Csv, WriteReadRoundTrip) {
  TmpDir d;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Table t({Column::from_ints("id", {1, -2, 3, 4}, {0, 0, 1, 0}),
           Column::from_floats("x", {0.1, 2.0, nan, 1.0 / 3.0}),
           Column::from_bools("flag", {1, 0, 0, 1}, {0, 1, 0, 0}),
           Column::from_strings("text", {"plain", "with, comma", "say \"hi\"", "two\nlines"}, {0, 0, 0, 0}),
           Column::from_strings("opt", {"a", "", "c", "d"}, {0, 1, 0, 0}),
           Column::from_codes("level", {2, 0, -1, 1}, {"low", "mid", "high"})});
  const auto file = d.p / "sub" / "out.csv";
  fastai::write_csv(t, file);
  ASSERT_TRUE(fs::exists(file));
  // no temporary left beside it
  EXPECT_EQ(std::distance(fs::directory_iterator(d.p / "sub"), fs::directory_iterator()), 1);
  const std::string text = slurp(file);
  EXPECT_EQ(text.substr(0, text.find('\n')), "\"id\",\"x\",\"flag\",\"text\",\"opt\",\"level\"");
  EXPECT_NE(text.find("\n1,0.1,TRUE,\"plain\",\"a\",\"high\"\n"), std::string::npos) << text;
  EXPECT_NE(text.find("-2,2.0,,\"with, comma\",,\"low\""), std::string::npos) << text;  // 2.0 stays a float

  auto back = read_csv(file, {.dtypes = {{"level", DType::Category}}});
  // categories come back sorted, so compare the labels
  EXPECT_EQ(back["level"].astype(DType::String), t["level"].astype(DType::String));
  EXPECT_EQ(back.drop({"level"}), t.drop({"level"}));
  // with the same categories it is the same table
  auto fixed = back;
  fixed.set_column(back["level"].to_category({"low", "mid", "high"}));
  EXPECT_EQ(fixed, t);

  // empty strings survive with quoted_na = false
  Table e({Column::from_strings("s", {"", "x", ""}, {0, 0, 1}), Column::from_ints("n", {1, 2, 3})});
  fastai::write_csv(e, file);  // replaces the old file
  EXPECT_EQ(read_csv(file, {.quoted_na = false}), e);
  EXPECT_EQ(read_csv(file)["s"].na_count(), 2u);  // default (pandas): "" is missing

  // a single column with missing values
  Table one({Column::from_floats("v", {1.5, nan, 2.5})});
  fastai::write_csv(one, file);
  EXPECT_EQ(read_csv(file), one);
  // a write that fails leaves the old file alone
  expect_error([&] { fastai::write_csv(one, d.p / "sub" / "out.csv" / "x.csv"); }, {"out.csv"});
  EXPECT_EQ(read_csv(file), one);
}

}  // namespace csv_test
