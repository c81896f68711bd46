// Tests for core/src/plugin/host.cpp: the services table plugins call —
// config lookups (dotted keys, types, arrays, paths), set_error and its
// thread-local slot, and log routing into the core's logger.
#include "plugin/host.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "plinth/registry.hpp"
#include "plugin/plugin_config.hpp"
#include "test_util.hpp"

namespace plinth {
namespace {
using namespace std::string_view_literals;

class host_config : public ::testing::Test {
 protected:
  void SetUp() override {
    table_ = toml::parse(
        "lr = 0.5\n"               // line 1
        "steps = 10\n"             // line 2
        "name = \"adam\"\n"        // line 3
        "nesterov = true\n"        // line 4
        "data = \"train.bin\"\n"   // line 5
        "abs = \"/x/y.bin\"\n"     // line 6
        "sizes = [1, 2, 3]\n"      // line 7
        "rates = [0.1, 2]\n"       // line 8
        "tags = [\"a\", \"b\"]\n"  // line 9
        "[inner]\n"                // line 10
        "depth = 4\n"sv,           // line 11
        "/p/pipeline.toml"sv);
    cfg_ = make_plugin_config(table_, "/p/pipeline.toml");
    take_plugin_error();
  }
  const plinth_host* h() const { return plugin_host(); }
  toml::table table_;
  PluginConfigPtr cfg_;
};

TEST(host, table_reports_this_core_abi_and_every_service) {
  const plinth_host* h = plugin_host();
  EXPECT_EQ(h->struct_size, PLINTH_HOST_STRUCT_SIZE);
  EXPECT_EQ(h->abi_major, 1u);
  EXPECT_EQ(h->abi_minor, 2u);
  EXPECT_TRUE(h->log && h->set_error && h->config_get_int && h->config_get_float && h->config_get_bool &&
              h->config_get_string && h->config_array_size && h->config_array_int && h->config_array_float &&
              h->config_array_string && h->config_get_path);
}

TEST_F(host_config, reads_scalars_of_each_type) {
  int64_t i = 0;
  double f = 0;
  int32_t b = 0;
  const char* s = nullptr;
  EXPECT_EQ(h()->config_get_int(h()->ctx, cfg_.get(), "steps", &i), PLINTH_OK);
  EXPECT_EQ(i, 10);
  EXPECT_EQ(h()->config_get_float(h()->ctx, cfg_.get(), "lr", &f), PLINTH_OK);
  EXPECT_EQ(f, 0.5);
  EXPECT_EQ(h()->config_get_bool(h()->ctx, cfg_.get(), "nesterov", &b), PLINTH_OK);
  EXPECT_EQ(b, 1);
  EXPECT_EQ(h()->config_get_string(h()->ctx, cfg_.get(), "name", &s), PLINTH_OK);
  EXPECT_STREQ(s, "adam");
}

TEST_F(host_config, accepts_an_int_where_a_float_is_asked_for) {
  double f = 0;
  EXPECT_EQ(h()->config_get_float(h()->ctx, cfg_.get(), "steps", &f), PLINTH_OK);
  EXPECT_EQ(f, 10.0);
}

TEST_F(host_config, follows_dotted_keys) {
  int64_t i = 0;
  EXPECT_EQ(h()->config_get_int(h()->ctx, cfg_.get(), "inner.depth", &i), PLINTH_OK);
  EXPECT_EQ(i, 4);
}

TEST_F(host_config, absent_key_is_not_found_and_leaves_out_alone) {
  int64_t i = 77;
  EXPECT_EQ(h()->config_get_int(h()->ctx, cfg_.get(), "missing", &i), PLINTH_ERR_NOT_FOUND);
  EXPECT_EQ(h()->config_get_int(h()->ctx, cfg_.get(), "inner.missing", &i), PLINTH_ERR_NOT_FOUND);
  EXPECT_EQ(i, 77);
  EXPECT_EQ(h()->config_get_int(h()->ctx, nullptr, "steps", &i), PLINTH_ERR_NOT_FOUND);
}

TEST_F(host_config, wrong_type_names_source_line_col_and_key) {
  int64_t i = 77;
  EXPECT_EQ(h()->config_get_int(h()->ctx, cfg_.get(), "lr", &i), PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(i, 77);
  std::string msg = take_plugin_error();
  EXPECT_EQ(msg.rfind("/p/pipeline.toml:1:", 0), 0u) << msg;
  EXPECT_NE(msg.find("'lr'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("integer"), std::string::npos) << msg;
  const char* s = nullptr;
  EXPECT_EQ(h()->config_get_string(h()->ctx, cfg_.get(), "inner.depth", &s), PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(take_plugin_error().find("/p/pipeline.toml:11:"), std::string::npos);
  int32_t b = 0;
  EXPECT_EQ(h()->config_get_bool(h()->ctx, cfg_.get(), "name", &b), PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(take_plugin_error().find(":3:"), std::string::npos);
}

TEST_F(host_config, reads_arrays_by_index) {
  size_t n = 0;
  int64_t i = 0;
  double f = 0;
  const char* s = nullptr;
  EXPECT_EQ(h()->config_array_size(h()->ctx, cfg_.get(), "sizes", &n), PLINTH_OK);
  EXPECT_EQ(n, 3u);
  EXPECT_EQ(h()->config_array_int(h()->ctx, cfg_.get(), "sizes", 2, &i), PLINTH_OK);
  EXPECT_EQ(i, 3);
  EXPECT_EQ(h()->config_array_float(h()->ctx, cfg_.get(), "rates", 1, &f), PLINTH_OK);  // int 2 as float
  EXPECT_EQ(f, 2.0);
  EXPECT_EQ(h()->config_array_string(h()->ctx, cfg_.get(), "tags", 1, &s), PLINTH_OK);
  EXPECT_STREQ(s, "b");
  EXPECT_EQ(h()->config_array_int(h()->ctx, cfg_.get(), "sizes", 3, &i), PLINTH_ERR_NOT_FOUND);
  EXPECT_NE(take_plugin_error().find("out of range"), std::string::npos);
  EXPECT_EQ(h()->config_array_int(h()->ctx, cfg_.get(), "tags", 0, &i), PLINTH_ERR_INVALID_ARGUMENT);
  std::string msg = take_plugin_error();
  EXPECT_NE(msg.find("/p/pipeline.toml:9:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("tags[0]"), std::string::npos) << msg;
  EXPECT_EQ(h()->config_array_size(h()->ctx, cfg_.get(), "lr", &n), PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(h()->config_array_size(h()->ctx, cfg_.get(), "nothing", &n), PLINTH_ERR_NOT_FOUND);
}

TEST_F(host_config, resolves_paths_against_the_config_file_folder) {
  const char* p = nullptr;
  EXPECT_EQ(h()->config_get_path(h()->ctx, cfg_.get(), "data", &p), PLINTH_OK);
  EXPECT_STREQ(p, "/p/train.bin");
  const char* first = p;
  EXPECT_EQ(h()->config_get_path(h()->ctx, cfg_.get(), "abs", &p), PLINTH_OK);
  EXPECT_STREQ(p, "/x/y.bin");
  EXPECT_STREQ(first, "/p/train.bin");  // earlier strings stay valid
  EXPECT_EQ(h()->config_get_path(h()->ctx, cfg_.get(), "steps", &p), PLINTH_ERR_INVALID_ARGUMENT);
}

TEST(host, set_error_returns_the_code_and_take_clears_it) {
  const plinth_host* h = plugin_host();
  EXPECT_EQ(h->set_error(h->ctx, PLINTH_ERR_IO, "disk gone"), PLINTH_ERR_IO);
  EXPECT_EQ(take_plugin_error(), "disk gone");
  EXPECT_EQ(take_plugin_error(), "");
}

TEST(host, errors_are_per_thread) {
  const plinth_host* h = plugin_host();
  take_plugin_error();
  std::thread t([h] { h->set_error(h->ctx, PLINTH_ERR_IO, "from the other thread"); });
  t.join();
  EXPECT_EQ(take_plugin_error(), "");
}

TEST(host, plugin_status_carries_code_and_message) {
  const plinth_host* h = plugin_host();
  h->set_error(h->ctx, PLINTH_ERR_BAD_DATA, "bad magic at offset 0");
  Status s = plugin_status(PLINTH_ERR_BAD_DATA, "opening data.bin");
  EXPECT_EQ(s.code(), errc::bad_data);
  EXPECT_EQ(s.message(), "opening data.bin: bad magic at offset 0");
  EXPECT_TRUE(plugin_status(PLINTH_OK, "x").ok());
  Status silent = plugin_status(PLINTH_ERR_INTERNAL, "step");
  EXPECT_NE(silent.message().find("no message"), std::string::npos);
}

TEST(host, log_is_routed_into_the_core_logger_tagged_with_the_plugin) {
  test::LogCapture cap;
  const plinth_host* h = plugin_host();
  h->log(h->ctx, PLINTH_LOG_WARN, "my-backend", "device 3 is hot");
  h->log(h->ctx, PLINTH_LOG_DEBUG, nullptr, nullptr);  // must not crash
  auto lines = cap.matching({"[warning]", "[my-backend] device 3 is hot"});
  EXPECT_EQ(lines.size(), 1u);
}

}  // namespace
}  // namespace plinth
