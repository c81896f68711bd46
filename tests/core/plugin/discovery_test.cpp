// Tests for core/src/plugin/discovery.cpp: precedence order, sorted folder
// reading, each file once, and the install folder found next to libplinth.
#include "plugin/discovery.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "test_util.hpp"

namespace plinth {
namespace {

namespace fs = std::filesystem;

class EnvVar {
 public:
  EnvVar(const char* name, const std::string& value) : name_(name) {
    if (const char* v = std::getenv(name)) old_ = v;
    setenv(name, value.c_str(), 1);
  }
  ~EnvVar() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(discovery, follows_the_documented_precedence) {
  test::TempDir tmp;
  const fs::path t = tmp.path();
  test::write_file(t / "pipe" / "b.toml", "");
  test::write_file(t / "pipe" / "a.toml", "");
  test::write_file(t / "pipe" / "readme.txt", "");
  test::write_file(t / "explicit.conf", "");
  test::write_file(t / "env1" / "z.toml", "");
  test::write_file(t / "env2.toml", "");
  test::write_file(t / "xdg" / "plinth" / "plugins.d" / "u.toml", "");
  EnvVar env("PLINTH_PLUGIN_PATH", (t / "env1").string() + ":" + (t / "missing").string() +
                                       "::" + (t / "env2.toml").string() + ":" + (t / "pipe").string());
  EnvVar xdg("XDG_CONFIG_HOME", (t / "xdg").string());
  DiscoveryOptions o;
  o.pipeline_manifests = {t / "pipe", t / "explicit.conf"};
  o.use_system = false;
  o.use_install = false;
  auto r = discover_manifests(o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  std::vector<std::string> got;
  for (const auto& f : *r) got.push_back(f.file.lexically_relative(t).string() + "@" + f.origin);
  std::vector<std::string> want = {"pipe/a.toml@pipeline",         "pipe/b.toml@pipeline",
                                   "explicit.conf@pipeline",       "env1/z.toml@PLINTH_PLUGIN_PATH",
                                   "env2.toml@PLINTH_PLUGIN_PATH", "xdg/plinth/plugins.d/u.toml@user"};
  EXPECT_EQ(got, want);
}

TEST(discovery, user_folder_and_environment_can_be_skipped) {
  test::TempDir tmp;
  test::write_file(tmp.path() / "xdg" / "plinth" / "plugins.d" / "u.toml", "");
  test::write_file(tmp.path() / "e.toml", "");
  EnvVar xdg("XDG_CONFIG_HOME", (tmp.path() / "xdg").string());
  EnvVar env("PLINTH_PLUGIN_PATH", (tmp.path() / "e.toml").string());
  DiscoveryOptions o;
  o.use_system = false;
  o.use_install = false;
  o.use_user = false;
  auto r = discover_manifests(o);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].origin, "PLINTH_PLUGIN_PATH");
  o.use_environment = false;
  EXPECT_TRUE(discover_manifests(o)->empty());
}

TEST(discovery, finds_the_install_folder_next_to_libplinth) {
  // libplinth.so sits in <build>/lib; the build tree is laid out like an
  // install, so <build>/share/plinth/plugins.d is the install folder.
  const fs::path want = fs::weakly_canonical(fs::path(PLINTH_BINARY_DIR) / "share" / "plinth" / "plugins.d");
  ASSERT_TRUE(fs::is_directory(want));
  auto dirs = install_manifest_dirs();
  EXPECT_NE(std::find(dirs.begin(), dirs.end(), want), dirs.end());
}

TEST(discovery, missing_pipeline_path_is_an_error_other_missing_paths_are_not) {
  DiscoveryOptions o;
  o.pipeline_manifests = {"/nonexistent/p.toml"};
  o.use_system = o.use_install = o.use_environment = false;
  EXPECT_EQ(discover_manifests(o).status().code(), errc::io);
  EnvVar env("PLINTH_PLUGIN_PATH", "/nonexistent/a:/nonexistent/b");
  DiscoveryOptions e;
  e.use_system = e.use_install = e.use_user = false;
  EXPECT_TRUE(discover_manifests(e)->empty());
}

}  // namespace
}  // namespace plinth
