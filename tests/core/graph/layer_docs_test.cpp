// layer_docs_test.cpp — docs/pipeline.md against the layer registry
// (core/src/graph/layers/): every layer type has a "#### `type`" section whose
// key table holds exactly the rows of its key table (key, type, default,
// meaning), and the `type` row of the common keys names every type. Fails
// when a row is missing, extra or different.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "graph/layers/layer.hpp"

namespace plinth::graph {
namespace {

std::vector<std::string> doc_lines() {
  std::ifstream f(std::string(PLINTH_SOURCE_DIR) + "/docs/pipeline.md");
  std::vector<std::string> out;
  for (std::string line; std::getline(f, line);) out.push_back(line);
  return out;
}

// The row docs/pipeline.md must have for key k.
std::string row(const config::LayerKey& k) {
  const std::string def =
      k.presence == config::LayerKey::required ? std::string("required") : std::string(k.doc_default);
  return "| `" + std::string(k.name) + "` | " + std::string(k.doc_type) + " | " + def + " | " +
         std::string(k.doc) + " |";
}

// The key rows of the "#### ..." section naming `type`; false when there is none.
bool section_rows(const std::vector<std::string>& lines, std::string_view type,
                  std::vector<std::string>& rows) {
  const std::string tag = "`" + std::string(type) + "`";
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].rfind("#### ", 0) != 0 || lines[i].find(tag) == std::string::npos) continue;
    for (size_t j = i + 1; j < lines.size() && lines[j].rfind("#", 0) != 0; ++j)
      if (lines[j].rfind("| `", 0) == 0) rows.push_back(lines[j]);
    return true;
  }
  return false;
}

TEST(layer_docs, every_layer_key_has_its_row_in_docs_pipeline_md) {
  const std::vector<std::string> lines = doc_lines();
  ASSERT_FALSE(lines.empty()) << "docs/pipeline.md not found";
  for (const LayerKind* kind : layer_kinds()) {
    std::vector<std::string> rows;
    ASSERT_TRUE(section_rows(lines, kind->type, rows))
        << "docs/pipeline.md has no \"#### `" << kind->type << "`\" section";
    std::vector<std::string> want;
    for (const config::LayerKey& k : kind->keys) want.push_back(row(k));
    std::ostringstream expected;
    for (const auto& r : want) expected << r << "\n";
    EXPECT_EQ(rows, want) << "the key table of `" << kind->type << "` in docs/pipeline.md differs from "
                          << "core/src/graph/layers/; it should read:\n"
                          << expected.str();
  }
}

TEST(layer_docs, the_type_row_names_every_layer_type) {
  std::string type_row;
  for (const std::string& l : doc_lines())
    if (l.rfind("| `type` | string | required |", 0) == 0) type_row = l;
  ASSERT_FALSE(type_row.empty());
  for (const LayerKind* kind : layer_kinds())
    EXPECT_NE(type_row.find("`" + std::string(kind->type) + "`"), std::string::npos) << kind->type;
}

}  // namespace
}  // namespace plinth::graph
