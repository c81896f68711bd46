// Tests for core/src/plugin/registry.cpp against the fixture plugins built
// by tests/fixtures: good and version-skewed plugins load, each broken one
// is refused with one log line naming plugin, path and reason (+ hint), the
// others still load, duplicates resolve by priority, libraries outlive
// their users and shut down in reverse load order; a library is opened only
// when a component of it is looked up (load_all opens all).
#include "plinth/registry.hpp"

#include <gtest/gtest.h>

#include <cstdio>

#include "plinth/backend.h"
#include "plinth/optimizer.h"
#include "plugin/plugin_config.hpp"
#include "test_util.hpp"

namespace plinth {
namespace {

namespace fs = std::filesystem;
using test::fixtures_dir;

DiscoveryOptions only(std::vector<fs::path> paths) {
  DiscoveryOptions o;
  o.pipeline_manifests = std::move(paths);
  o.use_environment = false;
  o.use_system = false;
  o.use_install = false;
  return o;
}

std::shared_ptr<Registry> open_or_die(const DiscoveryOptions& o) {
  auto r = Registry::open(o);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : nullptr;
}

const PluginInfo* info(const Registry& r, const std::string& name, PluginState state) {
  for (const auto& p : r.plugins()) {
    if (p.entry.name == name && p.state == state) return &p;
  }
  return nullptr;
}

// sha256 by an independent tool (coreutils), not by the code under test.
std::string sha256sum(const fs::path& p) {
  std::string cmd = "sha256sum '" + p.string() + "'";
  FILE* f = popen(cmd.c_str(), "r");
  char buf[65] = {};
  size_t n = f ? fread(buf, 1, 64, f) : 0;
  if (f) pclose(f);
  return std::string(buf, n);
}

TEST(registry, loads_the_good_and_version_skewed_fixtures) {
  auto reg = open_or_die(only({fixtures_dir() / "good"}));
  ASSERT_TRUE(reg);
  ASSERT_EQ(reg->plugins().size(), 4u);
  for (const auto& p : reg->plugins()) {
    EXPECT_EQ(p.state, PluginState::loaded) << p.entry.name << ": " << p.reason;
    EXPECT_EQ(p.origin, "pipeline");
  }
  EXPECT_TRUE(reg->manifest_errors().empty());
  const PluginInfo* b = info(*reg, "fx-good-backend", PluginState::loaded);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->version, "1.0.0");
  EXPECT_EQ(b->abi_major, 1u);
  ASSERT_TRUE(b->score.has_value());
  EXPECT_EQ(*b->score, 7);
  EXPECT_EQ(b->sha256, sha256sum(b->entry.path));
  EXPECT_EQ(b->entry.metadata.at("vendor"), "Plinth tests");
  EXPECT_FALSE(info(*reg, "fx-good-optim", PluginState::loaded)->score.has_value());
}

TEST(registry, older_minor_with_a_shorter_table_loads) {
  auto reg = open_or_die(only({fixtures_dir() / "good"}));
  const PluginInfo* p = info(*reg, "fx-old-minor", PluginState::loaded);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->abi_minor, 0u);
  auto c = reg->find(PLINTH_KIND_BACKEND, "fx-old");
  ASSERT_TRUE(c.ok());
  auto* t = static_cast<const plinth_backend_v1*>((*c)->table);
  EXPECT_EQ(t->struct_size, PLINTH_BACKEND_V1_MIN_STRUCT_SIZE);
  EXPECT_LT(t->struct_size, PLINTH_BACKEND_V1_STRUCT_SIZE);
}

TEST(registry, newer_minor_with_bigger_structs_loads_and_components_are_strided) {
  auto reg = open_or_die(only({fixtures_dir() / "good"}));
  const PluginInfo* p = info(*reg, "fx-new-minor", PluginState::loaded);
  ASSERT_TRUE(p) << reg->plugins()[3].reason;
  EXPECT_EQ(p->abi_minor, 99u);
  ASSERT_EQ(p->components.size(), 2u);
  EXPECT_EQ(p->components[0].name, "fx-new");
  EXPECT_EQ(p->components[1].name, "fx-new-2");  // read at the plugin's stride, not ours
  EXPECT_EQ(p->components[1].description, "second component (stride check)");
  EXPECT_GT(p->components[0].component->struct_size, PLINTH_COMPONENT_STRUCT_SIZE);
  EXPECT_TRUE(reg->find(PLINTH_KIND_BACKEND, "fx-new-2").ok());
}

TEST(registry, a_loaded_backend_runs_through_its_table) {
  auto reg = open_or_die(only({fixtures_dir() / "good"}));
  auto c = reg->find(PLINTH_KIND_BACKEND, "fx-host");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(reg->owner(*c)->entry.name, "fx-good-backend");
  auto* be = static_cast<const plinth_backend_v1*>((*c)->table);
  int32_t n = 0;
  ASSERT_EQ(be->device_count(&n), PLINTH_OK);
  EXPECT_EQ(n, 1);
  plinth_backend_ctx* ctx = nullptr;
  ASSERT_EQ(be->create(reg->host(), nullptr, 0, &ctx), PLINTH_OK);
  plinth_buffer* buf = nullptr;
  ASSERT_EQ(be->buffer_alloc(ctx, 4 * 6, &buf), PLINTH_OK);
  plinth_tensor out{};
  out.struct_size = PLINTH_TENSOR_STRUCT_SIZE;
  out.buffer = buf;
  out.dtype = PLINTH_DTYPE_F32;
  out.ndim = 2;
  out.shape[0] = 2;
  out.shape[1] = 3;
  plinth_fill_params fp{PLINTH_FILL_PARAMS_STRUCT_SIZE, 2.5};
  plinth_op op{PLINTH_OP_STRUCT_SIZE, PLINTH_OP_FILL, 0, nullptr, 1, &out, &fp};
  ASSERT_EQ(be->launch(ctx, nullptr, &op), PLINTH_OK);
  float host[6] = {};
  ASSERT_EQ(be->copy_d2h(ctx, nullptr, host, buf, 0, sizeof host), PLINTH_OK);
  for (float v : host) EXPECT_EQ(v, 2.5f);
  be->buffer_free(ctx, buf);
  be->destroy(ctx);
}

TEST(registry, plugins_read_their_config_through_the_host) {
  auto reg = open_or_die(only({fixtures_dir() / "good"}));
  auto c = reg->find(PLINTH_KIND_OPTIMIZER, "fx-momentum");
  ASSERT_TRUE(c.ok());
  ASSERT_NE((*c)->config_keys, nullptr);
  EXPECT_STREQ((*c)->config_keys[0], "lr");
  auto* opt = static_cast<const plinth_optimizer_v1*>((*c)->table);
  toml::table good = toml::parse(std::string_view("lr = 3\n"), std::string_view("/p/pipe.toml"));
  auto cfg = make_plugin_config(good, "/p/pipe.toml");
  plinth_optimizer* o = nullptr;
  ASSERT_EQ(opt->create(reg->host(), cfg.get(), &o), PLINTH_OK);
  EXPECT_EQ(opt->base_lr(o), 3.0);
  EXPECT_EQ(opt->num_state_slots(o), 1);
  opt->destroy(o);
  toml::table bad = toml::parse(std::string_view("\nlr = \"fast\"\n"), std::string_view("/p/pipe.toml"));
  auto bcfg = make_plugin_config(bad, "/p/pipe.toml");
  Status s = plugin_status(opt->create(reg->host(), bcfg.get(), &o), "creating fx-momentum");
  EXPECT_EQ(s.code(), errc::invalid_argument);
  EXPECT_NE(s.message().find("/p/pipe.toml:2:"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("'lr'"), std::string::npos) << s.message();
}

struct Broken {
  const char* name;
  const char* reason;  // a part of the reason
  const char* hint;    // a part of the hint, or "" when none is expected
};

void PrintTo(const Broken& b, std::ostream* os) { *os << b.name; }

const Broken kBroken[] = {
    {"fx-missing-file", "library not found", "it is relative to the manifest's folder"},
    {"fx-not-elf", "not a shared library", "must name the plugin's .so"},
    {"fx-no-entry", "no exported symbol plinth_plugin_get", "PLINTH_EXPORT"},
    {"fx-abi2", "built for ABI 2.0, this core provides ABI 1.2", "rebuild against Plinth SDK 1"},
    {"fx-small-table", "struct_size is 88, the minimum for ABI 1 is", "struct_size"},
    {"fx-null-fn", "required function launch left NULL", "(optional)"},
    {"fx-init-error", "init() failed: cannot open /dev/fx0: no such device", ""},
    {"fx-sha-mismatch", "sha256 mismatch", "update `sha256` in"},
    {"fx-wrong-kind", "is a backend, the manifest declares kind 'optimizer'", "fix `kind` in"},
    {"fx-init-throw", "init() threw a C++ exception: boom from init", "must not throw"},
};

class registry_broken : public ::testing::TestWithParam<Broken> {};

TEST_P(registry_broken, is_refused_with_one_line_and_the_others_still_load) {
  const Broken& b = GetParam();
  test::LogCapture cap;
  auto reg = open_or_die(only({fixtures_dir() / "good", fixtures_dir() / "broken"}));
  ASSERT_TRUE(reg);
  const PluginInfo* p = info(*reg, b.name, PluginState::failed);
  ASSERT_TRUE(p) << b.name << " did not fail";
  EXPECT_NE(p->reason.find(b.reason), std::string::npos) << p->reason;
  if (*b.hint) {
    EXPECT_NE(p->hint.find(b.hint), std::string::npos) << p->hint;
  } else {
    EXPECT_EQ(p->hint, "");
  }
  EXPECT_TRUE(p->components.empty());
  // Exactly one warn line naming plugin, path and reason.
  auto lines = cap.matching({"[warning]", std::string("'") + b.name + "'"});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find(p->entry.path.string()), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find(p->reason), std::string::npos) << lines[0];
  if (*b.hint) {
    EXPECT_NE(lines[0].find("hint: "), std::string::npos) << lines[0];
  }
  // The good ones are unaffected.
  for (const char* good : {"fx-good-backend", "fx-good-optim", "fx-old-minor", "fx-new-minor"})
    EXPECT_TRUE(info(*reg, good, PluginState::loaded)) << good;
  EXPECT_TRUE(reg->find(PLINTH_KIND_BACKEND, "fx-host").ok());
}

INSTANTIATE_TEST_SUITE_P(fixtures, registry_broken, ::testing::ValuesIn(kBroken),
                         [](const ::testing::TestParamInfo<Broken>& i) {
                           std::string n = i.param.name;
                           for (char& c : n) c = c == '-' ? '_' : c;
                           return n;
                         });

TEST(registry, broken_manifests_are_reported_with_file_line_col) {
  test::LogCapture cap;
  auto reg = open_or_die(only({fixtures_dir() / "broken"}));
  const auto& errs = reg->manifest_errors();
  ASSERT_EQ(errs.size(), 2u);
  EXPECT_NE(errs[0].find("missing-name.toml:2:1:"), std::string::npos) << errs[0];
  EXPECT_NE(errs[0].find("'name'"), std::string::npos) << errs[0];
  EXPECT_NE(errs[1].find("syntax-error.toml:3:"), std::string::npos) << errs[1];
  EXPECT_EQ(cap.matching({"[warning]", "missing-name.toml:2:1:"}).size(), 1u);
}

TEST(registry, rejects_a_declared_abi_before_running_plugin_code) {
  // The library's init() calls abort(): this test only survives if the
  // library is never opened.
  auto reg = open_or_die(only({fixtures_dir() / "abi-refused"}));
  const PluginInfo* p = info(*reg, "fx-init-abort", PluginState::failed);
  ASSERT_TRUE(p);
  EXPECT_NE(p->reason.find("declares ABI 2, this core provides ABI 1.2"), std::string::npos) << p->reason;
  // Most often a typo: the hint names the `abi` key's own line (the 5th of
  // the fixture manifest) and the values this core loads, then the rebuild.
  EXPECT_NE(p->hint.find("set `abi` in "), std::string::npos) << p->hint;
  EXPECT_NE(
      p->hint.find("abi2.toml:5 to the ABI the library was built for (this core loads \"1\" and \"1.0\" to "
                   "\"1.2\")"),
      std::string::npos)
      << p->hint;
  EXPECT_NE(p->hint.find("rebuild against Plinth SDK 1"), std::string::npos);
  EXPECT_EQ(p->sha256, "");  // not even read
}

TEST(registry, duplicate_name_higher_priority_wins_and_log_says_which) {
  test::LogCapture cap;
  auto reg = open_or_die(only({fixtures_dir() / "shadow"}));
  const PluginInfo* win = info(*reg, "fx-dup", PluginState::loaded);
  const PluginInfo* lose = info(*reg, "fx-dup", PluginState::shadowed);
  ASSERT_TRUE(win && lose);
  EXPECT_EQ(win->version, "2.0.0");
  EXPECT_EQ(win->entry.path.filename(), "libfx-dup-high.so");
  EXPECT_EQ(lose->entry.path.filename(), "libfx-dup-low.so");
  EXPECT_NE(lose->reason.find("20-dup-high.toml"), std::string::npos) << lose->reason;
  auto c = reg->find(PLINTH_KIND_BACKEND, "fx-dup-host");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(reg->owner(*c), win);
  EXPECT_EQ(cap.matching({"libfx-dup-low.so", "shadowed by", "libfx-dup-high.so"}).size(), 1u);
}

TEST(registry, duplicate_component_higher_priority_plugin_wins) {
  test::LogCapture cap;
  auto reg = open_or_die(only({fixtures_dir() / "shadow"}));
  auto sgd = reg->find(PLINTH_KIND_OPTIMIZER, "fx-sgd");
  auto mom = reg->find(PLINTH_KIND_OPTIMIZER, "fx-momentum");
  ASSERT_TRUE(sgd.ok() && mom.ok());
  EXPECT_EQ(reg->owner(*sgd)->entry.name, "fx-opt-high");
  EXPECT_EQ(reg->owner(*mom)->entry.name, "fx-good-optim");
  const PluginInfo* low = info(*reg, "fx-good-optim", PluginState::loaded);
  ASSERT_EQ(low->components.size(), 2u);
  EXPECT_EQ(low->components[0].shadowed_by, "fx-opt-high");
  EXPECT_EQ(low->components[1].shadowed_by, "");
  EXPECT_EQ(cap.matching({"'fx-sgd'", "'fx-good-optim'", "shadowed by", "'fx-opt-high'"}).size(), 1u);
}

TEST(registry, duplicate_name_same_priority_earlier_precedence_wins) {
  test::TempDir tmp;
  const fs::path lib = fixtures_dir() / "lib";
  test::write_file(tmp.path() / "a.toml", "[[plugin]]\nname='fx-dup'\nkind='backend'\npath='" +
                                              (lib / "libfx-dup-low.so").string() + "'\n");
  test::write_file(tmp.path() / "b.toml", "[[plugin]]\nname='fx-dup'\nkind='backend'\npath='" +
                                              (lib / "libfx-dup-high.so").string() + "'\n");
  auto reg = open_or_die(only({tmp.path() / "a.toml", tmp.path() / "b.toml"}));
  EXPECT_EQ(info(*reg, "fx-dup", PluginState::loaded)->version, "1.0.0");
  EXPECT_EQ(info(*reg, "fx-dup", PluginState::shadowed)->entry.path.filename(), "libfx-dup-high.so");
}

TEST(registry, a_failed_winner_lets_the_next_candidate_load) {
  test::TempDir tmp;
  const fs::path lib = fixtures_dir() / "lib";
  test::write_file(tmp.path() / "m.toml", "[[plugin]]\nname='fx-dup'\nkind='backend'\npath='" +
                                              (lib / "gone.so").string() + "'\npriority=9\n[[plugin]]\n" +
                                              "name='fx-dup'\nkind='backend'\npath='" +
                                              (lib / "libfx-dup-low.so").string() + "'\n");
  auto reg = open_or_die(only({tmp.path()}));
  EXPECT_TRUE(info(*reg, "fx-dup", PluginState::failed));
  EXPECT_EQ(info(*reg, "fx-dup", PluginState::loaded)->entry.path.filename(), "libfx-dup-low.so");
}

TEST(registry, matching_sha256_pin_loads) {
  test::TempDir tmp;
  const fs::path so = fixtures_dir() / "lib" / "libfx-good-backend.so";
  test::write_file(tmp.path() / "m.toml", "[[plugin]]\nname='fx-good-backend'\nkind='backend'\npath='" +
                                              so.string() + "'\nsha256='" + sha256sum(so) + "'\n");
  auto reg = open_or_die(only({tmp.path() / "m.toml"}));
  EXPECT_TRUE(info(*reg, "fx-good-backend", PluginState::loaded));
}

TEST(registry, find_unknown_lists_installed_names) {
  auto reg = open_or_die(only({fixtures_dir() / "good"}));
  auto r = reg->find(PLINTH_KIND_OPTIMIZER, "lamb");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), errc::not_found);
  EXPECT_NE(r.status().message().find("'lamb'"), std::string::npos);
  EXPECT_NE(r.status().message().find("fx-momentum, fx-sgd"), std::string::npos) << r.status().message();
  EXPECT_EQ(reg->names(PLINTH_KIND_COMM).size(), 0u);
}

TEST(registry, missing_pipeline_manifest_path_is_an_io_error) {
  auto r = Registry::open(only({"/nonexistent/plinth/plugins.toml"}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), errc::io);
  EXPECT_NE(r.status().message().find("/nonexistent/plinth/plugins.toml"), std::string::npos);
}

TEST(registry, shuts_down_in_reverse_load_order_and_keep_alive_defers) {
  test::TempDir tmp;
  const fs::path log = tmp.path() / "shutdown.log";
  setenv("FX_SHUTDOWN_LOG", log.c_str(), 1);
  std::shared_ptr<void> hold;
  {
    auto reg = open_or_die(only({fixtures_dir() / "good"}));
    hold = reg->keep_alive(reg->find(PLINTH_KIND_OPTIMIZER, "fx-sgd").value());
    ASSERT_TRUE(hold);
    EXPECT_EQ(reg->keep_alive(nullptr), nullptr);
  }
  EXPECT_EQ(test::read_file(log), "fx-new-minor shutdown\nfx-old-minor shutdown\nfx-good-backend shutdown\n");
  hold.reset();
  EXPECT_EQ(
      test::read_file(log),
      "fx-new-minor shutdown\nfx-old-minor shutdown\nfx-good-backend shutdown\nfx-good-optim shutdown\n");
  unsetenv("FX_SHUTDOWN_LOG");
}

// Manifests found by search ($PLINTH_PLUGIN_PATH here), not named by the
// caller: their libraries are opened only when a component is looked up.
std::shared_ptr<Registry> open_searched(const std::vector<fs::path>& folders) {
  std::string path;
  for (const auto& f : folders) {
    if (!path.empty()) path += ':';
    path += f.string();
  }
  setenv("PLINTH_PLUGIN_PATH", path.c_str(), 1);
  DiscoveryOptions o;
  o.use_user = false;
  o.use_system = false;
  o.use_install = false;
  auto reg = open_or_die(o);
  unsetenv("PLINTH_PLUGIN_PATH");
  return reg;
}

TEST(registry, opens_only_the_libraries_a_lookup_needs) {
  // fx-init-abort's init ends the process: opening it would end this test.
  auto reg = open_searched({fixtures_dir() / "lazy", fixtures_dir() / "lazy-abort"});
  ASSERT_TRUE(reg);
  ASSERT_EQ(reg->plugins().size(), 4u);
  for (const auto& p : reg->plugins()) {
    EXPECT_EQ(p.state, PluginState::unopened) << p.entry.name;
    EXPECT_EQ(p.origin, "PLINTH_PLUGIN_PATH");
    EXPECT_TRUE(p.sha256.empty()) << p.entry.name << ": its file was read";
  }
  EXPECT_EQ(std::string(state_name(PluginState::unopened)), "unopened");

  // A backend declared by one manifest: that library alone.
  auto host = reg->find(PLINTH_KIND_BACKEND, "fx-host");
  ASSERT_TRUE(host.ok()) << host.status().message();
  EXPECT_EQ(reg->owner(*host)->entry.name, "fx-good-backend");
  EXPECT_TRUE(info(*reg, "fx-good-backend", PluginState::loaded));
  EXPECT_TRUE(info(*reg, "fx-init-error", PluginState::unopened));
  EXPECT_TRUE(info(*reg, "fx-init-abort", PluginState::unopened));
  EXPECT_TRUE(info(*reg, "fx-good-optim", PluginState::unopened));

  // An optimizer: the optimizer library, which declares nothing, opens; no backend does.
  EXPECT_TRUE(reg->find(PLINTH_KIND_OPTIMIZER, "fx-sgd").ok());
  EXPECT_TRUE(info(*reg, "fx-good-optim", PluginState::loaded));
  EXPECT_TRUE(info(*reg, "fx-init-error", PluginState::unopened));
  EXPECT_TRUE(info(*reg, "fx-init-abort", PluginState::unopened));

  // A name no manifest declares opens no declared library of another name.
  EXPECT_FALSE(reg->find(PLINTH_KIND_OPTIMIZER, "lamb").ok());
  EXPECT_TRUE(info(*reg, "fx-init-abort", PluginState::unopened));
}

TEST(registry, load_all_opens_every_library) {
  test::LogCapture logs;
  auto reg = open_searched({fixtures_dir() / "lazy"});
  ASSERT_TRUE(reg);
  EXPECT_TRUE(info(*reg, "fx-init-error", PluginState::unopened));
  EXPECT_TRUE(logs.matching({"fx-init-error"}).empty());
  reg->load_all();
  EXPECT_TRUE(info(*reg, "fx-good-backend", PluginState::loaded));
  EXPECT_TRUE(info(*reg, "fx-good-optim", PluginState::loaded));
  const PluginInfo* bad = info(*reg, "fx-init-error", PluginState::failed);
  ASSERT_TRUE(bad);
  EXPECT_NE(bad->reason.find("cannot open /dev/fx0"), std::string::npos) << bad->reason;
  EXPECT_EQ(logs.matching({"plugin 'fx-init-error' (" + bad->entry.path.string() + "): "}).size(), 1u);
}

TEST(registry, names_opens_every_library_of_the_kind) {
  auto reg = open_searched({fixtures_dir() / "lazy"});
  ASSERT_TRUE(reg);
  EXPECT_EQ(reg->names(PLINTH_KIND_BACKEND), std::vector<std::string>{"fx-host"});
  EXPECT_TRUE(info(*reg, "fx-init-error", PluginState::failed));
  EXPECT_TRUE(info(*reg, "fx-good-optim", PluginState::unopened));
}

TEST(registry, declared_components_must_match_the_library) {
  auto reg = open_searched({fixtures_dir() / "lazy-mismatch"});
  ASSERT_TRUE(reg);
  EXPECT_FALSE(reg->find(PLINTH_KIND_BACKEND, "fx-other").ok());
  const PluginInfo* p = info(*reg, "fx-good-backend", PluginState::failed);
  ASSERT_TRUE(p);
  EXPECT_NE(p->reason.find("declares components [fx-host, fx-other], the library provides [fx-host]"),
            std::string::npos)
      << p->reason;
  EXPECT_NE(p->hint.find("fix `components`"), std::string::npos) << p->hint;
}

TEST(registry, named_manifests_load_whole) {
  auto reg = open_or_die(only({fixtures_dir() / "lazy"}));
  ASSERT_TRUE(reg);
  EXPECT_TRUE(info(*reg, "fx-good-backend", PluginState::loaded));
  EXPECT_TRUE(info(*reg, "fx-good-optim", PluginState::loaded));
  EXPECT_TRUE(info(*reg, "fx-init-error", PluginState::failed));
}

}  // namespace
}  // namespace plinth
