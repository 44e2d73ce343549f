#include "fastai/io/text_table.h"

#include <gtest/gtest.h>

#include <sstream>

namespace fastai::testing::text_table_tests {

TEST(TextTable, PadsColumnsToTheWidestCell) {
  std::ostringstream os;
  fastai::save_text_table(os, {"x", "label"}, {{"1.5", "cat"}, {"22", "dog\nx"}, {"3"}});
  EXPECT_EQ(os.str(),
            "x    label\n"
            "----------\n"
            "1.5  cat\n"
            "22   dog x\n"
            "3\n");
}

TEST(TextTable, WidthCountsCodePointsNotBytes) {
  std::ostringstream os;
  fastai::save_text_table(os, {"a", "b"}, {{"\u00e9t\u00e9", "x"}, {"no", "y"}});
  EXPECT_EQ(os.str(),
            "a    b\n"
            "------\n"
            "\u00e9t\u00e9  x\n"
            "no   y\n");
}

}  // namespace fastai::testing::text_table_tests
