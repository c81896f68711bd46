// trust_test.cpp — the loader's trust rules (core/src/plugin/trust.cpp and
// their use in registry.cpp): loose permissions and foreign owners are
// refused unless allowed; minisign signatures ("Ed" and prehashed "ED") made
// here with libsodium, and one made by the real minisign tool when it is
// installed, verify against trusted keys; tampering is caught.
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <sodium.h>

#include "plinth/registry.hpp"
#include "plugin/trust.hpp"

namespace fs = std::filesystem;
using namespace plinth;

namespace {

const fs::path kFx = fs::path(PLINTH_BINARY_DIR) / "tests/fixtures/plugins";

fs::path fresh(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("plinth-trust-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  fs::permissions(d, fs::perms(0755));
  return d;
}

void write(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }
std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string b64(const unsigned char* p, size_t n) {
  std::string out(sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), p, n, sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}

// A minisign key pair made with libsodium, written in minisign's formats.
struct KeyPair {
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  unsigned char id[8];
  KeyPair() {
    EXPECT_EQ(sodium_init() >= 0, true);
    crypto_sign_keypair(pk, sk);
    randombytes_buf(id, sizeof id);
  }
  std::string public_file() const {
    unsigned char raw[42] = {'E', 'd'};
    std::memcpy(raw + 2, id, 8);
    std::memcpy(raw + 10, pk, 32);
    return "untrusted comment: minisign public key\n" + b64(raw, sizeof raw) + "\n";
  }
  // A .minisig of `data`: prehashed ("ED") or legacy ("Ed").
  std::string sign(const std::string& data, bool prehashed,
                   const std::string& comment = "timestamp:1") const {
    unsigned char sig[64];
    if (prehashed) {
      unsigned char h[64];
      crypto_generichash(h, sizeof h, reinterpret_cast<const unsigned char*>(data.data()), data.size(),
                         nullptr, 0);
      crypto_sign_detached(sig, nullptr, h, sizeof h, sk);
    } else {
      crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(data.data()), data.size(),
                           sk);
    }
    unsigned char raw[74] = {'E', static_cast<unsigned char>(prehashed ? 'D' : 'd')};
    std::memcpy(raw + 2, id, 8);
    std::memcpy(raw + 10, sig, 64);
    std::string global(reinterpret_cast<char*>(sig), 64);
    global += comment;
    unsigned char gsig[64];
    crypto_sign_detached(gsig, nullptr, reinterpret_cast<const unsigned char*>(global.data()), global.size(),
                         sk);
    return "untrusted comment: signature\n" + b64(raw, sizeof raw) + "\ntrusted comment: " + comment + "\n" +
           b64(gsig, sizeof gsig) + "\n";
  }
};

// A plugin folder with a copy of the fixture optimizer and its manifest.
struct PluginDir {
  fs::path dir, lib, manifest;
  explicit PluginDir(const std::string& name) {
    dir = fresh(name);
    lib = dir / "libfx-good-optim.so";
    fs::copy_file(kFx / "lib/libfx-good-optim.so", lib);
    fs::permissions(lib, fs::perms(0755));
    manifest = dir / "m.toml";
    write(manifest,
          "[[plugin]]\nname = \"fx-good-optim\"\nkind = \"optimizer\"\npath = \"libfx-good-optim.so\"\n");
    fs::permissions(manifest, fs::perms(0644));
  }
  ~PluginDir() { fs::remove_all(dir); }
  std::shared_ptr<Registry> open(TrustPolicy trust = {}) const {
    DiscoveryOptions o;
    o.pipeline_manifests = {manifest};
    o.use_environment = o.use_user = o.use_system = o.use_install = false;
    o.trust = std::move(trust);
    auto r = Registry::open(o);
    EXPECT_TRUE(r.ok());
    return *r;
  }
};

const PluginInfo* plugin(const Registry& r) {
  for (const auto& p : r.plugins())
    if (p.entry.name == "fx-good-optim") return &p;
  return nullptr;
}

}  // namespace

TEST(trust, loads_a_plugin_only_its_owner_may_write) {
  PluginDir d("ok");
  auto r = d.open();
  ASSERT_NE(plugin(*r), nullptr);
  EXPECT_EQ(plugin(*r)->state, PluginState::loaded) << plugin(*r)->reason;
}

TEST(trust, refuses_a_library_others_may_write_unless_allowed) {
  PluginDir d("lib-ow");
  fs::permissions(d.lib, fs::perms(0757));
  auto r = d.open();
  ASSERT_NE(plugin(*r), nullptr);
  EXPECT_EQ(plugin(*r)->state, PluginState::failed);
  EXPECT_EQ(plugin(*r)->reason, "refused: insecure file " + d.lib.string() +
                                    ": mode 0757 lets others write it (chmod go-w " + d.lib.string() + ")");
  TrustPolicy allow;
  allow.allow_insecure = true;
  EXPECT_EQ(plugin(*d.open(allow))->state, PluginState::loaded);
}

TEST(trust, refuses_a_group_writable_manifest_and_folder) {
  PluginDir d("man-gw");
  fs::permissions(d.manifest, fs::perms(0664));
  auto r = d.open();
  EXPECT_EQ(plugin(*r), nullptr);  // the manifest was not read
  ASSERT_EQ(r->manifests().size(), 1u);
  EXPECT_NE(r->manifests()[0].refused.find("mode 0664 lets its group write it"), std::string::npos);
  ASSERT_EQ(r->manifest_errors().size(), 1u);
  fs::permissions(d.manifest, fs::perms(0644));
  fs::permissions(d.dir, fs::perms(0775));
  r = d.open();
  ASSERT_EQ(r->manifests().size(), 1u);
  EXPECT_NE(r->manifests()[0].refused.find("insecure folder " + d.dir.string() + ": mode 0775"),
            std::string::npos);
}

TEST(trust, the_environment_allows_insecure_plugins) {
  PluginDir d("env");
  fs::permissions(d.lib, fs::perms(0777));
  ::setenv("PLINTH_ALLOW_INSECURE_PLUGINS", "1", 1);
  auto r = d.open();
  ::unsetenv("PLINTH_ALLOW_INSECURE_PLUGINS");
  EXPECT_EQ(plugin(*r)->state, PluginState::loaded) << plugin(*r)->reason;
}

TEST(trust, refuses_a_library_owned_by_another_user) {
  if (::geteuid() != 0) GTEST_SKIP() << "chown to another user needs root";
  PluginDir d("owner");
  ASSERT_EQ(::chown(d.lib.c_str(), 4242, 4242), 0);
  auto r = d.open();
  EXPECT_NE(plugin(*r)->reason.find("owned by uid 4242, neither root nor this user"), std::string::npos)
      << plugin(*r)->reason;
}

TEST(trust, a_symlink_in_a_safe_folder_to_a_loose_file_is_refused) {
  PluginDir d("link");
  fs::path other = fresh("link-target");
  fs::copy_file(d.lib, other / "real.so");
  fs::permissions(other / "real.so", fs::perms(0666));
  fs::remove(d.lib);
  fs::create_symlink(other / "real.so", d.lib);
  auto r = d.open();
  EXPECT_NE(plugin(*r)->reason.find("insecure file " + (other / "real.so").string()), std::string::npos)
      << plugin(*r)->reason;
  fs::remove_all(other);
}

TEST(trust, sha256_pin_is_enforced) {
  PluginDir d("sha");
  std::string m = read(d.manifest);
  write(d.manifest, m + "sha256 = \"" + std::string(64, 'a') + "\"\n");
  auto r = d.open();
  EXPECT_EQ(plugin(*r)->state, PluginState::failed);
  EXPECT_EQ(plugin(*r)->reason.rfind("sha256 mismatch: the manifest pins " + std::string(64, 'a'), 0), 0u);
  // The right pin loads.
  write(d.manifest, m + "sha256 = \"" + plugin(*r)->sha256 + "\"\n");
  EXPECT_EQ(plugin(*d.open())->state, PluginState::loaded);
}

TEST(minisign, parses_and_verifies_prehashed_and_legacy_signatures) {
  KeyPair k;
  auto key = parse_minisign_public_key(k.public_file(), "k.pub");
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_EQ(0, std::memcmp(key->public_key.data(), k.pk, 32));
  const std::string data = "the bytes of a library\n";
  for (bool pre : {true, false}) {
    auto sig = parse_minisign_signature(k.sign(data, pre), "x.minisig");
    ASSERT_TRUE(sig.ok()) << sig.status().message();
    EXPECT_EQ(sig->prehashed, pre);
    EXPECT_EQ(verify_minisign(data, *sig, {*key}, "keys"), "");
    EXPECT_NE(
        verify_minisign(data + "x", *sig, {*key}, "keys").find("bad signature: the file does not match"),
        std::string::npos);
    sig->trusted_comment += "!";
    EXPECT_NE(verify_minisign(data, *sig, {*key}, "keys").find("trusted comment does not match"),
              std::string::npos);
  }
}

TEST(minisign, an_untrusted_key_id_is_named) {
  KeyPair k, other;
  auto key = parse_minisign_public_key(other.public_file(), "o.pub");
  auto sig = parse_minisign_signature(k.sign("d", true), "x.minisig");
  ASSERT_TRUE(key.ok() && sig.ok());
  EXPECT_EQ(verify_minisign("d", *sig, {*key}, "/keys"),
            "signed with key ID " + key_id_hex(sig->key_id) +
                ", which is not among the trusted keys in /keys (1 key(s) there)");
}

TEST(minisign, malformed_files_say_which_line) {
  EXPECT_EQ(parse_minisign_signature("untrusted comment: a\nAAAA\ntrusted comment: b\nAAAA\n", "s")
                .status()
                .message(),
            "s:2: the signature is 3 bytes, expected 74");
  EXPECT_EQ(parse_minisign_signature("x\n", "s").status().message(),
            "s:1: a minisign signature has 4 lines, this file has 1");
  EXPECT_EQ(parse_minisign_public_key("untrusted comment: k\n", "k.pub").status().message(),
            "k.pub: no key line after the 'untrusted comment:' line");
}

TEST(trust, require_signature_loads_signed_and_refuses_the_rest) {
  PluginDir d("sig");
  KeyPair k;
  fs::path keys = fresh("keys");
  write(keys / "ops.pub", k.public_file());
  fs::permissions(keys / "ops.pub", fs::perms(0644));
  TrustPolicy pol;
  pol.require_signature = true;
  pol.trusted_keys_dir = keys;
  // No signature.
  EXPECT_EQ(plugin(*d.open(pol))->reason, "refused: no signature file " + d.lib.string() + ".minisig");
  // A good one.
  write(d.lib.string() + ".minisig", k.sign(read(d.lib), true));
  fs::permissions(d.lib.string() + ".minisig", fs::perms(0644));
  auto r = d.open(pol);
  EXPECT_EQ(plugin(*r)->state, PluginState::loaded) << plugin(*r)->reason;
  EXPECT_EQ(plugin(*r)->signed_by, key_id_hex(*reinterpret_cast<const std::array<unsigned char, 8>*>(k.id)));
  // The library changes after signing.
  std::ofstream(d.lib, std::ios::binary | std::ios::app) << "x";
  EXPECT_NE(plugin(*d.open(pol))->reason.find("bad signature: the file does not match its signature"),
            std::string::npos);
  fs::remove_all(keys);
}

TEST(trust, verifies_a_signature_made_by_the_minisign_tool) {
  if (std::system("command -v minisign > /dev/null 2>&1") != 0) GTEST_SKIP() << "minisign is not installed";
  PluginDir d("tool");
  fs::path keys = fresh("tool-keys");
  const std::string q = "'";
  // -W: no password on the secret key. minisign 0.11 signs prehashed by default.
  ASSERT_EQ(std::system(("minisign -G -W -p " + q + (keys / "tool.pub").string() + q + " -s " + q +
                         (keys / "tool.key").string() + q + " > /dev/null")
                            .c_str()),
            0);
  ASSERT_EQ(std::system(("minisign -S -s " + q + (keys / "tool.key").string() + q + " -m " + q +
                         d.lib.string() + q + " -t 'plinth test' > /dev/null")
                            .c_str()),
            0);
  fs::remove(keys / "tool.key");
  TrustPolicy pol;
  pol.require_signature = true;
  pol.trusted_keys_dir = keys;
  auto r = d.open(pol);
  EXPECT_EQ(plugin(*r)->state, PluginState::loaded) << plugin(*r)->reason;
  EXPECT_FALSE(plugin(*r)->signed_by.empty());
  // The legacy (non-prehashed) form, minisign -l.
  ASSERT_EQ(std::system(("minisign -G -W -f -p " + q + (keys / "tool.pub").string() + q + " -s " + q +
                         (keys / "tool.key").string() + q + " > /dev/null && minisign -S -l -s " + q +
                         (keys / "tool.key").string() + q + " -m " + q + d.lib.string() + q + " > /dev/null")
                            .c_str()),
            0);
  fs::remove(keys / "tool.key");
  EXPECT_NE(read(d.lib.string() + ".minisig").find("untrusted comment"), std::string::npos);
  r = d.open(pol);
  EXPECT_EQ(plugin(*r)->state, PluginState::loaded) << plugin(*r)->reason;
  fs::remove_all(keys);
}

// --- every symbolic link hop and every folder on the way -------------------

namespace {

// safe/real.so <- hops/mid.so <- plugin folder's lib: a chain whose middle
// link sits in `hops`, made with mode `hops_mode`.
struct Chain {
  PluginDir d{"chain"};
  fs::path hops = fresh("chain-hops"), safe = fresh("chain-safe");
  explicit Chain(fs::perms hops_mode) {
    fs::copy_file(d.lib, safe / "real.so");
    fs::create_symlink(safe / "real.so", hops / "mid.so");
    fs::remove(d.lib);
    fs::create_symlink(hops / "mid.so", d.lib);
    fs::permissions(hops, hops_mode);
  }
  ~Chain() {
    fs::remove_all(hops);
    fs::remove_all(safe);
  }
};

}  // namespace

TEST(trust, a_link_hop_in_a_world_writable_folder_is_refused_naming_it) {
  Chain c(fs::perms(0777));
  const std::string want = "insecure folder " + c.hops.string() +
                           ": mode 0777 lets group and others write it (chmod go-w " + c.hops.string() +
                           "); it holds the symbolic link " + (c.hops / "mid.so").string() +
                           " on the way to " + c.d.lib.string();
  EXPECT_EQ(insecure_reason(c.d.lib), want);
  auto r = c.d.open();
  EXPECT_EQ(plugin(*r)->state, PluginState::failed);
  EXPECT_EQ(plugin(*r)->reason, "refused: " + want);
}

// Sticky (as /tmp): others cannot rename our link there, but they may
// create the name first, and nothing says which link is ours: refused too.
TEST(trust, a_link_hop_in_a_sticky_world_writable_folder_is_refused) {
  Chain c(fs::perms(01777));
  EXPECT_EQ(insecure_reason(c.d.lib),
            "insecure folder " + c.hops.string() + ": mode 1777 lets group and others write it (chmod go-w " +
                c.hops.string() + "); it holds the symbolic link " + (c.hops / "mid.so").string() +
                " on the way to " + c.d.lib.string());
}

TEST(trust, a_chain_of_safe_links_is_loaded) {
  Chain c(fs::perms(0755));
  EXPECT_EQ(insecure_reason(c.d.lib), "");
  auto r = c.d.open();
  EXPECT_EQ(plugin(*r)->state, PluginState::loaded) << plugin(*r)->reason;
}

// A relative link with "..": resolved against the link's own folder.
TEST(trust, a_relative_link_is_followed_from_its_folder) {
  Chain c(fs::perms(0755));
  fs::remove(c.d.lib);
  fs::create_symlink(fs::path("..") / c.hops.filename() / "mid.so", c.d.lib);
  EXPECT_EQ(insecure_reason(c.d.lib), "");
  fs::permissions(c.safe / "real.so", fs::perms(0666));
  EXPECT_EQ(insecure_reason(c.d.lib), "insecure file " + (c.safe / "real.so").string() +
                                          ": mode 0666 lets group and others write it (chmod go-w " +
                                          (c.safe / "real.so").string() +
                                          ") (reached through the symbolic link " + c.d.lib.string() + ")");
}

// A folder further up that others may write (not sticky) lets them swap the
// whole subtree: refused, naming it. A sticky one (as /tmp) is not.
TEST(trust, every_folder_above_is_checked_and_a_sticky_one_allowed) {
  const fs::path top = fresh("ancestor");
  const fs::path deep = top / "a" / "b";
  fs::create_directories(deep);
  fs::permissions(top / "a", fs::perms(0755));
  fs::permissions(deep, fs::perms(0755));
  write(deep / "lib.so", "x");
  fs::permissions(deep / "lib.so", fs::perms(0644));
  EXPECT_EQ(insecure_reason(deep / "lib.so"), "");
  fs::permissions(top, fs::perms(0777));
  EXPECT_EQ(insecure_reason(deep / "lib.so"), "insecure folder " + top.string() +
                                                  ": mode 0777 lets group and others write it (chmod go-w " +
                                                  top.string() + ")");
  fs::permissions(top, fs::perms(01777));
  EXPECT_EQ(insecure_reason(deep / "lib.so"), "");
  fs::remove_all(top);
}

TEST(trust, a_link_hop_owned_by_another_user_is_refused) {
  if (::geteuid() != 0) GTEST_SKIP() << "lchown to another user needs root";
  Chain c(fs::perms(0755));
  ASSERT_EQ(::lchown((c.hops / "mid.so").c_str(), 4242, 4242), 0);
  EXPECT_EQ(insecure_reason(c.d.lib),
            "insecure symbolic link " + (c.hops / "mid.so").string() +
                ": owned by uid 4242, neither root nor this user (uid 0); it is on the "
                "way to " +
                c.d.lib.string());
}

// An owner another user controls further up: a folder on the way owned by
// another user is refused even when its mode is tight.
TEST(trust, a_folder_on_the_way_owned_by_another_user_is_refused) {
  if (::geteuid() != 0) GTEST_SKIP() << "chown to another user needs root";
  Chain c(fs::perms(0755));
  ASSERT_EQ(::chown(c.safe.c_str(), 4242, 4242), 0);
  EXPECT_EQ(insecure_reason(c.d.lib), "insecure folder " + c.safe.string() +
                                          ": owned by uid 4242, neither root nor this user (uid 0) (reached "
                                          "through the symbolic link " +
                                          c.d.lib.string() + ")");
}
