// schema_docs_test.cpp — docs/pipeline.md's key tables against the pipeline
// schema (config/pipeline_schema.cpp): every row, in order, with its type,
// default and meaning; and the check itself catches a removed row or a changed
// default. The layer tables are not covered here.
#include "config/pipeline_schema.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

using plinth::config::markdown_table;
using plinth::config::pipeline_schema_docs;
using plinth::config::SectionDoc;

std::string read_docs() {
  std::ifstream in(PLINTH_SOURCE_DIR "/docs/pipeline.md", std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The first table after the line `heading`, one string per row, with the
// 1-based line number of its first row; empty when there is none.
struct DocTable {
  std::vector<std::string> rows;
  std::size_t first_line = 0;
};
DocTable table_after(const std::vector<std::string>& doc, std::string_view heading) {
  DocTable t;
  std::size_t i = 0;
  while (i < doc.size() && doc[i] != heading) ++i;
  while (i < doc.size() && (doc[i].empty() || doc[i][0] != '|')) ++i;
  t.first_line = i + 1;
  for (; i < doc.size() && !doc[i].empty() && doc[i][0] == '|'; ++i) t.rows.push_back(doc[i]);
  return t;
}

// The key a row documents ("`seed`" -> "seed"), or the row itself (header,
// separator, "*other keys*").
std::string key_of(const std::string& row) {
  if (row.rfind("| `", 0) != 0) return row;
  const std::size_t end = row.find('`', 3);
  return end == std::string::npos ? row : row.substr(3, end - 3);
}

// The differences between the docs' table of `s` and the schema's, one per
// row that is missing, extra or different, then one for the order
// ("pipeline.md:402: [train] ..."); empty when they agree.
std::vector<std::string> differences(const std::vector<std::string>& doc, const SectionDoc& s) {
  std::vector<std::string> out;
  const DocTable got = table_after(doc, s.heading);
  const std::vector<std::string> want = lines_of(markdown_table(s));
  if (got.rows.empty()) {
    out.push_back("no table after the heading '" + std::string(s.heading) + "'");
    return out;
  }
  auto at = [&](std::size_t i) {
    return "pipeline.md:" + std::to_string(got.first_line + i) + ": [" + std::string(s.path) + "] ";
  };
  auto find = [](const std::vector<std::string>& rows, const std::string& key) {
    for (std::size_t i = 0; i < rows.size(); ++i)
      if (key_of(rows[i]) == key) return i;
    return rows.size();
  };
  for (const std::string& w : want) {
    const std::size_t i = find(got.rows, key_of(w));
    if (i == got.rows.size())
      out.push_back(at(0) + "row missing from the docs: " + w);
    else if (got.rows[i] != w)
      out.push_back(at(i) + "row differs\n  docs:   " + got.rows[i] + "\n  schema: " + w);
  }
  for (std::size_t i = 0; i < got.rows.size(); ++i)
    if (find(want, key_of(got.rows[i])) == want.size())
      out.push_back(at(i) + "row not in the schema: " + got.rows[i]);
  if (out.empty() && got.rows != want) {
    std::string order;
    for (const std::string& w : want) order.append(" ").append(key_of(w));
    out.push_back(at(0) + "rows out of order; the schema's (and plinth resolve's) order is" + order);
  }
  return out;
}

const SectionDoc& section(const std::vector<SectionDoc>& all, std::string_view path) {
  for (const SectionDoc& s : all)
    if (s.path == path) return s;
  ADD_FAILURE() << "no section " << path;
  return all.front();
}

TEST(schema_docs, every_key_table_of_the_docs_matches_the_schema) {
  const std::vector<std::string> doc = lines_of(read_docs());
  ASSERT_GT(doc.size(), 100u) << "docs/pipeline.md not found under " PLINTH_SOURCE_DIR;
  int tables = 0;
  for (const SectionDoc& s : pipeline_schema_docs()) {
    if (s.heading.empty()) continue;  // [model]'s own keys are described in prose
    ++tables;
    for (const std::string& d : differences(doc, s)) ADD_FAILURE() << d;
  }
  EXPECT_GE(tables, 13);
}

TEST(schema_docs, a_removed_row_is_caught) {
  const auto all = pipeline_schema_docs();
  std::vector<std::string> doc = lines_of(read_docs());
  ASSERT_TRUE(differences(doc, section(all, "train")).empty());
  std::size_t removed = 0;
  for (std::size_t i = 0; i < doc.size(); ++i)
    if (doc[i].rfind("| `grad_accum` |", 0) == 0) {
      doc.erase(doc.begin() + static_cast<std::ptrdiff_t>(i));
      ++removed;
      break;
    }
  ASSERT_EQ(removed, 1u);
  const auto d = differences(doc, section(all, "train"));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_NE(d.front().find("[train] row missing from the docs: | `grad_accum` |"), std::string::npos)
      << d.front();
}

TEST(schema_docs, a_changed_default_is_caught_on_either_side) {
  const auto all = pipeline_schema_docs();
  std::vector<std::string> doc = lines_of(read_docs());
  // In the docs: keep_last's default 3 -> 4.
  for (std::string& line : doc)
    if (line.rfind("| `keep_last` |", 0) == 0) line.replace(line.find("`3`"), 3, "`4`");
  EXPECT_FALSE(differences(doc, section(all, "checkpoint")).empty());
  // In the schema: batch_size's default 32 -> 64.
  doc = lines_of(read_docs());
  SectionDoc train = section(all, "train");
  for (auto& k : train.keys)
    if (k.name == "batch_size") k.def = "64";
  const auto d = differences(doc, train);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_NE(d.front().find("`64`"), std::string::npos) << d.front();
}

TEST(schema_docs, rows_out_of_order_are_caught) {
  const auto all = pipeline_schema_docs();
  std::vector<std::string> doc = lines_of(read_docs());
  for (std::size_t i = 0; i + 1 < doc.size(); ++i)
    if (doc[i].rfind("| `seed` |", 0) == 0) {
      std::swap(doc[i], doc[i + 1]);
      break;
    }
  const auto d = differences(doc, section(all, "run"));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_NE(d.front().find("out of order"), std::string::npos) << d.front();
}

TEST(schema_docs, a_row_in_the_docs_but_not_the_schema_is_caught) {
  const auto all = pipeline_schema_docs();
  std::vector<std::string> doc = lines_of(read_docs());
  for (std::size_t i = 0; i < doc.size(); ++i)
    if (doc[i].rfind("| `min_delta` |", 0) == 0) {
      doc.insert(doc.begin() + static_cast<std::ptrdiff_t>(i) + 1, "| `max_delta` | float | `1.0` | new |");
      break;
    }
  const auto d = differences(doc, section(all, "early_stop"));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_NE(d.front().find("not in the schema"), std::string::npos) << d.front();
}

}  // namespace
