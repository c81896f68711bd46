// csv_test.cpp — the `csv` data source: a good file read back cell by cell
// (classification and regression, label by name and by index, other
// delimiters, no header), and each malformed case naming file/line/column.
#include "data_util.hpp"

using namespace plinth::test;

namespace {

std::string open_error(const std::string& toml, plinth_status want) {
  fake_host h;
  opened o(h, "csv", h.config(toml));
  EXPECT_EQ(o.status, want) << h.last_error();
  EXPECT_EQ(o.src, nullptr);
  return h.last_error();
}

}  // namespace

TEST(csv, reads_classification_with_label_last_by_default) {
  temp_dir d;
  write_text(d / "a.csv", "x1,x2,x3,y\n1.5,-2,3e2,1\n\n0, 0.25 ,7,0\r\n4,5,6,2\n");
  fake_host h;
  opened o(h, "csv", h.config("path = \"a.csv\"\nnum_classes = 3\n", d.path));
  ASSERT_EQ(o.status, PLINTH_OK) << h.last_error();
  EXPECT_EQ(o.info().num_samples, 3u);
  auto f = o.field(0), l = o.field(1);
  EXPECT_STREQ(f.name, "features");
  EXPECT_EQ(f.ndim, 1);
  EXPECT_EQ(f.shape[0], 3);
  EXPECT_STREQ(l.name, "label");
  EXPECT_EQ(l.dtype, PLINTH_DTYPE_I32);
  EXPECT_EQ(l.num_classes, 3);
  const uint64_t idx[3] = {2, 0, 1};
  float x[9];
  int32_t y[3];
  void* b[2] = {x, y};
  ASSERT_EQ(o.t->read(o.src, idx, 3, b), PLINTH_OK);
  const float want_x[9] = {4, 5, 6, 1.5f, -2, 300, 0, 0.25f, 7};
  const int32_t want_y[3] = {2, 1, 0};
  for (int i = 0; i < 9; ++i) EXPECT_EQ(x[i], want_x[i]) << i;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(y[i], want_y[i]) << i;
}

TEST(csv, reads_regression_label_by_name_with_other_delimiter) {
  temp_dir d;
  write_text(d / "r.csv", "target;a;b\n0.5;1;2\n-1.25;3;4\n");
  fake_host h;
  opened o(h, "csv", h.config("path = \"r.csv\"\nlabel_column = \"target\"\ndelimiter = \";\"\n", d.path));
  ASSERT_EQ(o.status, PLINTH_OK) << h.last_error();
  auto l = o.field(1);
  EXPECT_EQ(l.dtype, PLINTH_DTYPE_F32);
  EXPECT_EQ(l.num_classes, 0);
  const uint64_t idx[2] = {0, 1};
  float x[4], y[2];
  void* b[2] = {x, y};
  ASSERT_EQ(o.t->read(o.src, idx, 2, b), PLINTH_OK);
  EXPECT_EQ(x[0], 1);
  EXPECT_EQ(x[1], 2);
  EXPECT_EQ(x[2], 3);
  EXPECT_EQ(x[3], 4);
  EXPECT_EQ(y[0], 0.5f);
  EXPECT_EQ(y[1], -1.25f);
}

TEST(csv, reads_without_header_label_by_index) {
  temp_dir d;
  write_text(d / "n.csv", "1\t9\t2\n3\t8\t4");
  fake_host h;
  opened o(h, "csv",
           h.config("path = \"n.csv\"\nheader = false\nlabel_column = 1\ndelimiter = \"\\t\"\n", d.path));
  ASSERT_EQ(o.status, PLINTH_OK) << h.last_error();
  EXPECT_EQ(o.info().num_samples, 2u);
  const uint64_t idx[1] = {1};
  float x[2], y;
  void* b[2] = {x, &y};
  ASSERT_EQ(o.t->read(o.src, idx, 1, b), PLINTH_OK);
  EXPECT_EQ(x[0], 3);
  EXPECT_EQ(x[1], 4);
  EXPECT_EQ(y, 8);
}

TEST(csv, wrong_column_count_names_file_and_line) {
  temp_dir d;
  write_text(d / "bad.csv", "a,b,y\n1,2,0\n\n1,2\n");
  std::string msg = open_error("path = \"" + (d / "bad.csv") + "\"\n", PLINTH_ERR_BAD_DATA);
  EXPECT_NE(msg.find(d / "bad.csv"), std::string::npos) << msg;
  EXPECT_NE(msg.find("line 4"), std::string::npos) << msg;
  EXPECT_NE(msg.find("2 columns, expected 3"), std::string::npos) << msg;
}

TEST(csv, non_numeric_cell_names_file_line_and_column) {
  temp_dir d;
  write_text(d / "bad.csv", "a,b,y\n1,2,0\n1,two,0\n");
  std::string msg = open_error("path = \"" + (d / "bad.csv") + "\"\n", PLINTH_ERR_BAD_DATA);
  EXPECT_NE(msg.find(d / "bad.csv"), std::string::npos) << msg;
  EXPECT_NE(msg.find("line 3 column 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("\"b\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("two"), std::string::npos) << msg;
  // An empty cell and trailing garbage are not numbers either.
  write_text(d / "bad2.csv", "1,,0\n");
  msg = open_error("header = false\npath = \"" + (d / "bad2.csv") + "\"\n", PLINTH_ERR_BAD_DATA);
  EXPECT_NE(msg.find("line 1 column 2"), std::string::npos) << msg;
  write_text(d / "bad3.csv", "1,2x,0\n");
  msg = open_error("header = false\npath = \"" + (d / "bad3.csv") + "\"\n", PLINTH_ERR_BAD_DATA);
  EXPECT_NE(msg.find("line 1 column 2"), std::string::npos) << msg;
}

TEST(csv, class_label_out_of_range_or_fractional_is_an_error) {
  temp_dir d;
  write_text(d / "c.csv", "a,y\n1,0\n2,3\n");
  std::string msg = open_error("num_classes = 3\npath = \"" + (d / "c.csv") + "\"\n", PLINTH_ERR_BAD_DATA);
  EXPECT_NE(msg.find("line 3"), std::string::npos) << msg;
  EXPECT_NE(msg.find("label 3"), std::string::npos) << msg;
  write_text(d / "f.csv", "a,y\n1,0.5\n");
  msg = open_error("num_classes = 3\npath = \"" + (d / "f.csv") + "\"\n", PLINTH_ERR_BAD_DATA);
  EXPECT_NE(msg.find("line 2"), std::string::npos) << msg;
}

TEST(csv, unknown_label_name_and_missing_file_are_reported) {
  temp_dir d;
  write_text(d / "a.csv", "a,b\n1,2\n");
  std::string msg =
      open_error("label_column = \"zz\"\npath = \"" + (d / "a.csv") + "\"\n", PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("zz"), std::string::npos) << msg;
  EXPECT_NE(msg.find("a, b"), std::string::npos) << msg;
  msg = open_error("path = \"" + (d / "none.csv") + "\"\n", PLINTH_ERR_IO);
  EXPECT_NE(msg.find(d / "none.csv"), std::string::npos) << msg;
  write_text(d / "empty.csv", "a,b\n");
  msg = open_error("path = \"" + (d / "empty.csv") + "\"\n", PLINTH_ERR_BAD_DATA);
  EXPECT_NE(msg.find("no data rows"), std::string::npos) << msg;
}
