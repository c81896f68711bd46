// schema_test.cpp — the key-table machinery (config/schema.cpp) on a small
// table of its own: reading, defaults, derived defaults, rules and their
// messages, unknown keys, writing back, the Markdown row; and the pipeline
// tables' own consistency (defaults, literals, plugin core keys).
#include "config/pipeline_schema.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;
using namespace plinth::config;

struct Toy {
  int64_t count = 2;
  double rate = 0.5;
  std::string kind = "a";
  std::string mode;
  std::string label;
  std::vector<std::string> tags;
};

constexpr std::string_view kKinds[] = {"a", "b"};

const Section<Toy>& toy_schema() {
  static const Section<Toy> s{
      "toy",
      "## [toy]",
      {
          {{.name = "label", .doc = "what it is called", .required = "a name for it"}, &Toy::label},
          {{.name = "count", .def = "2", .doc = "how many", .check = within(1, 3, "[]")}, &Toy::count},
          {{.name = "rate", .def = "0.5", .doc = "how fast", .check = above(0, "per second")}, &Toy::rate},
          {{.name = "kind", .def = "\"a\"", .doc = "which one", .check = one_of(kKinds, "kind")}, &Toy::kind},
          {{.name = "mode", .doc = "derived", .doc_default = "`kind` twice"},
           &Toy::mode,
           [](Toy& t) { t.mode = t.kind + t.kind; }},
          {{.name = "tags", .def = "[]", .doc = "labels", .omit_empty = true}, &Toy::tags},
      }};
  return s;
}

// Reads `text` as toy.toml's [toy] table: the error message, or "" and `out` filled.
std::string read(const std::string& text, Toy& out) {
  const std::string whole = "[toy]\n" + text;
  toml::table doc = toml::parse(whole, std::string_view("toy.toml"));
  const toml::table& t = *doc["toy"].as_table();
  const Reader r("toy.toml");
  const std::vector<std::string_view> names = toy_schema().names();
  plinth::Status s = r.check_keys(t, "toy", names);
  if (s.ok()) s = read_fields<Toy>(r, t, "toy", toy_schema().fields, out);
  return s.ok() ? std::string() : s.message();
}

std::string write(const Toy& t) {
  std::ostringstream os;
  {
    SectionWriter w(os, "[toy]");
    write_fields<Toy>(w, toy_schema().fields, t);
  }
  return os.str();
}

TEST(schema, reads_values_and_fills_defaults) {
  Toy t;
  t.count = 99;  // the table's default replaces it
  ASSERT_EQ(read("label = \"x\"\nkind = \"b\"\nrate = 2\n", t), "");
  EXPECT_EQ(t.label, "x");
  EXPECT_EQ(t.count, 2);
  EXPECT_DOUBLE_EQ(t.rate, 2.0);  // an integer where a float is expected
  EXPECT_EQ(t.kind, "b");
  EXPECT_EQ(t.mode, "bb");  // derived from a key read before it
}

TEST(schema, errors_name_file_line_column_and_key) {
  Toy t;
  EXPECT_EQ(read("count = 1\n", t), "toy.toml:1:1: toy.label: missing required key (a name for it)");
  EXPECT_EQ(read("label = \"x\"\ncount = 5\n", t), "toy.toml:3:9: toy.count: count must be in [1, 3], got 5");
  EXPECT_EQ(read("label = \"x\"\nrate = 0\n", t),
            "toy.toml:3:8: toy.rate: rate must be > 0 per second, got 0");
  EXPECT_EQ(read("label = \"x\"\nkind = \"c\"\n", t),
            "toy.toml:3:8: toy.kind: unknown kind 'c'; expected one of 'a', 'b'");
  EXPECT_EQ(read("label = \"x\"\ncount = 1.5\n", t),
            "toy.toml:3:9: toy.count: expected an integer, got a float");
  EXPECT_EQ(read("label = \"x\"\ncuont = 1\n", t),
            "toy.toml:3:1: toy.cuont: unknown key (did you mean 'count'?)");
}

TEST(schema, writes_in_table_order_and_omits_empty_when_asked) {
  Toy t;
  ASSERT_EQ(read("label = \"x\"\n", t), "");
  EXPECT_EQ(write(t), "[toy]\nlabel = \"x\"\ncount = 2\nrate = 0.5\nkind = \"a\"\nmode = \"aa\"\n\n");
  t.tags = {"p", "q"};
  EXPECT_NE(write(t).find("tags = [\"p\", \"q\"]\n"), std::string::npos);
}

TEST(schema, markdown_rows_derive_type_and_default) {
  const std::string md = markdown_table(doc_of(toy_schema()));
  EXPECT_NE(md.find("| `label` | string | required | what it is called |"), std::string::npos) << md;
  EXPECT_NE(md.find("| `count` | integer in [1, 3] | `2` | how many |"), std::string::npos) << md;
  EXPECT_NE(md.find("| `rate` | float > 0 | `0.5` | how fast |"), std::string::npos) << md;
  EXPECT_NE(md.find("| `mode` | string | `kind` twice | derived |"), std::string::npos) << md;
}

// --- the pipeline's tables -----------------------------------------------------------------

// Each key with a literal default: the struct's initialiser and the table's
// default give the same resolved text (so a Pipeline built in code and one
// parsed from an empty section agree).
template <class S>
void expect_defaults_match(const Section<S>& s) {
  const toml::table empty;
  const Reader r("defaults.toml");
  for (const Field<S>& f : s.fields) {
    if (f.key.def.empty() || f.derive) continue;
    S from_struct{};
    S from_schema{};
    ASSERT_TRUE(read_fields<S>(r, empty, s.path, std::span(&f, 1), from_schema).ok());
    std::ostringstream a, b;
    {
      SectionWriter wa(a, "");
      write_fields<S>(wa, std::span(&f, 1), from_struct);
      SectionWriter wb(b, "");
      write_fields<S>(wb, std::span(&f, 1), from_schema);
    }
    EXPECT_EQ(a.str(), b.str()) << s.path << "." << f.key.name << ": the struct's initialiser differs from `"
                                << f.key.def << "`";
  }
}

TEST(pipeline_schema, struct_initialisers_equal_the_schema_defaults) {
  expect_defaults_match(run_schema());
  expect_defaults_match(backend_schema());
  expect_defaults_match(data_schema());
  expect_defaults_match(model_schema());
  expect_defaults_match(lora_schema());
  expect_defaults_match(init_schema());
  expect_defaults_match(loss_schema());
  expect_defaults_match(optimizer_schema());
  expect_defaults_match(schedule_schema());
  expect_defaults_match(train_schema());
  expect_defaults_match(checkpoint_schema());
  expect_defaults_match(early_stop_schema());
  expect_defaults_match(distributed_schema());
  expect_defaults_match(plugins_schema());
}

TEST(pipeline_schema, default_literals_are_toml_of_the_keys_type) {
  for (const SectionDoc& s : pipeline_schema_docs())
    for (const KeySpec& k : s.keys) {
      if (k.def.empty()) continue;
      const std::string text = "v = " + std::string(k.def);
      toml::table parsed;
      try {
        parsed = toml::parse(text);
      } catch (const std::exception& e) {
        ADD_FAILURE() << s.path << "." << k.name << ": " << text << ": " << e.what();
        continue;
      }
      const toml::node& v = *parsed.get("v");
      bool ok = false;
      switch (k.type) {
        case KeyType::integer:
          ok = v.is_integer();
          break;
        case KeyType::number:
          ok = v.is_number();
          break;
        case KeyType::boolean:
          ok = v.is_boolean();
          break;
        case KeyType::string:
          ok = v.is_string();
          break;
        case KeyType::array:
          ok = v.is_array();
          break;
        case KeyType::table:
          ok = v.is_table();
          break;
      }
      EXPECT_TRUE(ok) << s.path << "." << k.name << ": default " << k.def << " is not of the key's type";
    }
}

TEST(pipeline_schema, plugin_core_keys_are_the_schemas) {
  const auto backend = backend_schema().names();
  EXPECT_EQ(std::vector<std::string_view>(std::begin(kBackendCoreKeys), std::end(kBackendCoreKeys)), backend);
  const auto optimizer = optimizer_schema().names();
  EXPECT_EQ(std::vector<std::string_view>(std::begin(kOptimizerCoreKeys), std::end(kOptimizerCoreKeys)),
            optimizer);
}

TEST(pipeline_schema, resolve_writes_each_section_in_table_order) {
  auto p = parse_pipeline(
      "[data.train]\nsource = \"synthetic\"\n[[model.layer]]\ntype = \"linear\"\nout = 4\n", "p.toml");
  ASSERT_TRUE(p.ok()) << p.status().message();
  const std::string text = resolved_toml(*p);
  const auto train = train_schema().names();
  std::size_t at = text.find("[train]\n");
  ASSERT_NE(at, std::string::npos);
  for (std::string_view k : train) {
    if (k == "freeze" || k == "progressive") continue;  // omitted when empty / absent ([train.progressive])
    std::string needle(1, '\n');
    needle.append(k).append(" = ");
    const std::size_t next = text.find(needle, at);
    ASSERT_NE(next, std::string::npos) << k;
    at = next + 1;
  }
}

}  // namespace
