// A plain-text table writer: what show_batch and show_results print for data that is not an image.
#pragma once
#include <iosfwd>
#include <string>
#include <vector>

namespace fastai {

/// Writes a text table: the header, a rule, then one line per row, columns padded to their widest
/// cell (fastai's show_batch for non-image data prints such a table). Rows may be shorter than
/// the header (missing cells are blank); cells with '\n' are shown with the newline as a space.
void save_text_table(std::ostream& os, const std::vector<std::string>& header,
                     const std::vector<std::vector<std::string>>& rows);

}  // namespace fastai
