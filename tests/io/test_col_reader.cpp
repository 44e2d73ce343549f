// TableRow items and fastai's ColReader over them: prefixes / suffixes, label_delim, numbers as
// numbers, several columns as a Tuple, errors naming the column and the row.
#include "fastai/io/col_reader.h"

#include "test_util.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace col_reader_test {

using namespace fastai;  // NOLINT: test file
using fastai::testing::expect_error;

TEST(ColReader, ReadsCellsOfTableRows) {
  auto tp = std::make_shared<const Table>(Table({Column::from_strings("name", {"a.jpg", "b.jpg"}),
                                                 Column::from_strings("tags", {"x y", ""}),
                                                 Column::from_floats("score", {0.5, 1.5})}));
  const Table& t = *tp;
  auto rows = table_rows(t);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].row, 1u);
  EXPECT_EQ(rows[1].table->n_rows(), 2u);
  EXPECT_EQ(ColReader("name", {.pref = "imgs/"})({tp, 1}).get<std::string>(), "imgs/b.jpg");
  EXPECT_EQ(ColReader("tags", {.label_delim = " "})({tp, 0}).get<std::vector<std::string>>(),
            (std::vector<std::string>{"x", "y"}));
  EXPECT_TRUE(ColReader("tags", {.label_delim = " "})({tp, 1}).get<std::vector<std::string>>().empty());
  EXPECT_EQ(ColReader("score")({tp, 1}).get<double>(), 1.5);
  Item both = ColReader(std::vector<std::string>{"name", "score"})({tp, 0});
  EXPECT_EQ(both.get<Tuple>()[0].get<std::string>(), "a.jpg");
  expect_error([&] { ColReader("labels")({tp, 0}); }, {"labels"});
  expect_error([&] { ColReader("name")({tp, 9}); }, {"row 9", "2 rows"});
}

}  // namespace col_reader_test
