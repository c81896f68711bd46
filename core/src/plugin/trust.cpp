// trust.cpp — the loader's trust checks: ownership and permission of plugin
// files and their folders, and minisign signature parsing and verification
// with libsodium (crypto_sign_verify_detached, crypto_generichash for the
// prehashed form). Not here: when the checks run (registry.cpp).
#include "plugin/trust.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <sodium.h>

namespace plinth {
namespace fs = std::filesystem;

namespace {

bool env_on(const char* name) {
  const char* v = std::getenv(name);
  if (!v) return false;
  std::string s(v);
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s == "1" || s == "true" || s == "yes" || s == "on";
}

std::string mode_octal(mode_t m) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

// Why `p` (already stat'ed as `st`) may not be trusted, or empty.
std::string check_one(const fs::path& p, const struct stat& st, const char* what) {
  const uid_t me = ::geteuid();
  if (st.st_uid != 0 && st.st_uid != me)
    return "insecure " + std::string(what) + " " + p.string() + ": owned by uid " +
           std::to_string(st.st_uid) + ", neither root nor this user (uid " + std::to_string(me) + ")";
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    const char* who = (st.st_mode & S_IWGRP) && (st.st_mode & S_IWOTH) ? "group and others"
                      : (st.st_mode & S_IWGRP)                         ? "its group"
                                                                       : "others";
    return "insecure " + std::string(what) + " " + p.string() + ": mode " + mode_octal(st.st_mode) +
           " lets " + who + " write it (chmod go-w " + p.string() + ")";
  }
  return {};
}

std::string check_path(const fs::path& p, const char* what) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return p.string() + ": " + std::strerror(errno);
  return check_one(p, st, what);
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n' || s.back() == ' ' || s.back() == '\t'))
    s.pop_back();
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return s.substr(i);
}

std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text) {
    if (c == '\n') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  for (auto& l : out)
    if (!l.empty() && l.back() == '\r') l.pop_back();
  return out;
}

bool base64_decode(const std::string& in, std::vector<unsigned char>& out) {
  if (sodium_init() < 0) return false;
  out.assign(in.size(), 0);
  size_t len = 0;
  if (sodium_base642bin(out.data(), out.size(), in.data(), in.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0)
    return false;
  out.resize(len);
  return true;
}

Result<std::string> read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return error(errc::io, file.string() + ": cannot read: " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

EffectiveTrust resolve_trust(const TrustPolicy& options) {
  EffectiveTrust t;
  t.allow_insecure = options.allow_insecure || env_on("PLINTH_ALLOW_INSECURE_PLUGINS");
  t.require_signature = options.require_signature || env_on("PLINTH_REQUIRE_SIGNATURE");
  t.trusted_keys_dir = options.trusted_keys_dir;
  if (t.trusted_keys_dir.empty()) {
    const char* d = std::getenv("PLINTH_TRUSTED_KEYS_DIR");
    t.trusted_keys_dir = d && *d ? fs::path(d) : fs::path("/etc/plinth/trusted-keys");
  }
  return t;
}

std::string insecure_reason(const fs::path& path) {
  std::error_code ec;
  const fs::path abs = fs::absolute(path, ec).lexically_normal();
  struct stat lst {};
  if (::lstat(abs.c_str(), &lst) != 0) return abs.string() + ": " + std::strerror(errno);
  const fs::path dir = abs.has_parent_path() ? abs.parent_path() : fs::path("/");
  if (S_ISLNK(lst.st_mode)) {
    // The link itself can be replaced by whoever may write its folder; the
    // target by whoever may write it or its folder.
    if (auto r = check_path(dir, "folder"); !r.empty()) return r;
    const fs::path real = fs::canonical(abs, ec);
    if (ec) return abs.string() + ": cannot resolve the link: " + ec.message();
    if (auto r = check_path(real, "file"); !r.empty()) return r;
    return check_path(real.parent_path(), "folder");
  }
  if (auto r = check_one(abs, lst, "file"); !r.empty()) return r;
  return check_path(dir, "folder");
}

std::string key_id_hex(const std::array<unsigned char, 8>& id) {
  static const char* digits = "0123456789ABCDEF";
  std::string s;
  for (int i = 7; i >= 0; --i) {
    s += digits[id[static_cast<size_t>(i)] >> 4];
    s += digits[id[static_cast<size_t>(i)] & 15];
  }
  return s;
}

Result<MinisignKey> parse_minisign_public_key(std::string_view text, const fs::path& file) {
  std::string b64;
  for (const auto& l : lines_of(text)) {
    const std::string t = trim(l);
    if (t.empty() || t.rfind("untrusted comment:", 0) == 0) continue;
    b64 = t;
    break;
  }
  const std::string where = file.empty() ? std::string("public key") : file.string();
  if (b64.empty()) return error(errc::bad_data, where + ": no key line after the 'untrusted comment:' line");
  std::vector<unsigned char> raw;
  if (!base64_decode(b64, raw)) return error(errc::bad_data, where + ": the key line is not valid base64");
  if (raw.size() != 42)
    return error(errc::bad_data, where + ": the key is " + std::to_string(raw.size()) +
                                     " bytes, a minisign public key is 42 (\"Ed\", key id, Ed25519 key)");
  if (raw[0] != 'E' || raw[1] != 'd')
    return error(errc::bad_data, where + ": signature algorithm '" +
                                     std::string(1, static_cast<char>(raw[0])) +
                                     std::string(1, static_cast<char>(raw[1])) + "', expected 'Ed'");
  MinisignKey k;
  std::copy(raw.begin() + 2, raw.begin() + 10, k.key_id.begin());
  std::copy(raw.begin() + 10, raw.end(), k.public_key.begin());
  k.file = file;
  return k;
}

Result<MinisignSignature> parse_minisign_signature(std::string_view text, const fs::path& file) {
  const auto ls = lines_of(text);
  const std::string where = file.string();
  auto bad = [&](int line, const std::string& what) {
    return error(errc::bad_data, where + ":" + std::to_string(line) + ": " + what);
  };
  if (ls.size() < 4)
    return bad(1, "a minisign signature has 4 lines, this file has " + std::to_string(ls.size()));
  if (ls[0].rfind("untrusted comment:", 0) != 0) return bad(1, "expected 'untrusted comment: ...'");
  std::vector<unsigned char> raw;
  if (!base64_decode(trim(ls[1]), raw)) return bad(2, "the signature line is not valid base64");
  if (raw.size() != 74)
    return bad(2, "the signature is " + std::to_string(raw.size()) + " bytes, expected 74");
  MinisignSignature s;
  if (raw[0] == 'E' && raw[1] == 'd') {
    s.prehashed = false;
  } else if (raw[0] == 'E' && raw[1] == 'D') {
    s.prehashed = true;
  } else {
    return bad(2, "unknown signature algorithm (expected 'Ed' or 'ED')");
  }
  std::copy(raw.begin() + 2, raw.begin() + 10, s.key_id.begin());
  std::copy(raw.begin() + 10, raw.end(), s.signature.begin());
  static constexpr std::string_view kTrusted = "trusted comment: ";
  if (ls[2].rfind(kTrusted, 0) != 0) return bad(3, "expected 'trusted comment: ...'");
  s.trusted_comment = ls[2].substr(kTrusted.size());
  if (!base64_decode(trim(ls[3]), raw) || raw.size() != 64)
    return bad(4, "the global signature is not 64 bytes of base64");
  std::copy(raw.begin(), raw.end(), s.global_signature.begin());
  return s;
}

std::vector<MinisignKey> load_trusted_keys(const fs::path& dir, bool allow_insecure,
                                           std::vector<std::string>* problems) {
  std::vector<MinisignKey> keys;
  std::error_code ec;
  std::vector<fs::path> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".pub") files.push_back(it->path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    if (!allow_insecure) {
      if (auto r = insecure_reason(f); !r.empty()) {
        if (problems) problems->push_back(f.string() + ": key skipped: " + r);
        continue;
      }
    }
    auto text = read_text(f);
    if (!text) {
      if (problems) problems->push_back(text.status().message());
      continue;
    }
    auto k = parse_minisign_public_key(*text, f);
    if (!k) {
      if (problems) problems->push_back(k.status().message());
      continue;
    }
    keys.push_back(*k);
  }
  return keys;
}

std::string verify_minisign(std::string_view data, const MinisignSignature& sig,
                            const std::vector<MinisignKey>& keys, const fs::path& keys_dir) {
  if (sodium_init() < 0) return "libsodium could not be initialised";
  const MinisignKey* key = nullptr;
  for (const auto& k : keys)
    if (k.key_id == sig.key_id) key = &k;
  if (!key)
    return "signed with key ID " + key_id_hex(sig.key_id) + ", which is not among the trusted keys in " +
           keys_dir.string() + " (" + std::to_string(keys.size()) + " key(s) there)";
  int rc;
  if (sig.prehashed) {
    unsigned char h[crypto_generichash_BYTES_MAX];
    crypto_generichash(h, sizeof h, reinterpret_cast<const unsigned char*>(data.data()), data.size(), nullptr,
                       0);
    rc = crypto_sign_verify_detached(sig.signature.data(), h, sizeof h, key->public_key.data());
  } else {
    rc =
        crypto_sign_verify_detached(sig.signature.data(), reinterpret_cast<const unsigned char*>(data.data()),
                                    data.size(), key->public_key.data());
  }
  if (rc != 0)
    return "bad signature: the file does not match its signature by key ID " + key_id_hex(sig.key_id) + " (" +
           key->file.string() + ")";
  std::vector<unsigned char> global(sig.signature.begin(), sig.signature.end());
  global.insert(global.end(), sig.trusted_comment.begin(), sig.trusted_comment.end());
  if (crypto_sign_verify_detached(sig.global_signature.data(), global.data(), global.size(),
                                  key->public_key.data()) != 0)
    return "bad signature: the trusted comment does not match its global signature (key ID " +
           key_id_hex(sig.key_id) + ")";
  return {};
}

}  // namespace plinth
