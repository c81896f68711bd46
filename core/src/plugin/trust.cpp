// trust.cpp — the loader's trust checks: ownership and permission of plugin
// files and their folders, and minisign signature parsing and verification
// with libsodium (crypto_sign_verify_detached, crypto_generichash for the
// prehashed form). Not here: when the checks run (registry.cpp).
#include "plugin/trust.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
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

std::string owner_problem(const fs::path& p, const struct stat& st, const char* what) {
  const uid_t me = ::geteuid();
  if (st.st_uid != 0 && st.st_uid != me)
    return "insecure " + std::string(what) + " " + p.string() + ": owned by uid " +
           std::to_string(st.st_uid) + ", neither root nor this user (uid " + std::to_string(me) + ")";
  return {};
}

// Why `p` (already stat'ed as `st`) may not be trusted, or empty.
std::string check_one(const fs::path& p, const struct stat& st, const char* what) {
  if (auto r = owner_problem(p, st, what); !r.empty()) return r;
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    const char* who = (st.st_mode & S_IWGRP) && (st.st_mode & S_IWOTH) ? "group and others"
                      : (st.st_mode & S_IWGRP)                         ? "its group"
                                                                       : "others";
    return "insecure " + std::string(what) + " " + p.string() + ": mode " + mode_octal(st.st_mode) +
           " lets " + who + " write it (chmod go-w " + p.string() + ")";
  }
  return {};
}

// A folder above the one holding a file or link: as check_one, except that a
// sticky folder (like /tmp) may be writable by others, since they cannot
// rename or replace an entry they do not own, and the entry on the way down
// is checked in its turn.
std::string check_ancestor(const fs::path& p, const struct stat& st) {
  if ((st.st_mode & S_ISVTX) && owner_problem(p, st, "folder").empty()) return {};
  return check_one(p, st, "folder");
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
  // Resolved by hand, one component at a time (as realpath does), so that
  // every folder on the way and every symbolic link hop is checked before
  // anything is opened: whoever may write a folder on the path, a folder
  // holding a link, or the link itself chooses what is loaded.
  std::error_code ec;
  const fs::path abs = fs::absolute(path, ec).lexically_normal();
  std::deque<fs::path> todo;
  for (const auto& c : abs.relative_path()) todo.push_back(c);
  fs::path at = "/";
  struct stat st {};
  if (::stat("/", &st) != 0) return std::string("/: ") + std::strerror(errno);
  if (auto r = check_ancestor(at, st); !r.empty()) return r;
  fs::path first_link;  // for the message: how the path got where it is
  int hops = 0;
  auto via = [&] {
    return first_link.empty() ? std::string()
                              : " (reached through the symbolic link " + first_link.string() + ")";
  };
  while (!todo.empty()) {
    const fs::path name = todo.front();
    todo.pop_front();
    if (name.empty() || name == ".") continue;
    if (name == "..") {
      at = at.parent_path();
      continue;
    }
    const fs::path next = at / name;
    if (::lstat(next.c_str(), &st) != 0) return next.string() + ": " + std::strerror(errno) + via();
    if (S_ISLNK(st.st_mode)) {
      // A link can be replaced by whoever may write its folder (sticky or
      // not: the test is the folder's, not the link's owner's) or owns it.
      struct stat dst {};
      if (::stat(at.c_str(), &dst) != 0) return at.string() + ": " + std::strerror(errno);
      if (auto r = check_one(at, dst, "folder"); !r.empty())
        return r + "; it holds the symbolic link " + next.string() + " on the way to " + abs.string();
      if (auto r = owner_problem(next, st, "symbolic link"); !r.empty())
        return r + "; it is on the way to " + abs.string();
      if (++hops > 40) return abs.string() + ": too many levels of symbolic links";
      std::vector<char> buf(static_cast<size_t>(st.st_size > 0 ? st.st_size : PATH_MAX) + 1);
      const ssize_t n = ::readlink(next.c_str(), buf.data(), buf.size());
      if (n < 0 || static_cast<size_t>(n) >= buf.size())
        return next.string() + ": cannot read the link: " + std::strerror(errno);
      const fs::path target(std::string(buf.data(), static_cast<size_t>(n)));
      if (first_link.empty()) first_link = next;
      if (target.is_absolute()) at = "/";
      const fs::path rel = target.relative_path();
      std::vector<fs::path> parts(rel.begin(), rel.end());
      todo.insert(todo.begin(), parts.begin(), parts.end());
      continue;
    }
    if (todo.empty()) {
      // The file itself, then the folder holding it: neither may be
      // writable by others, sticky or not.
      if (auto r = check_one(next, st, "file"); !r.empty()) return r + via();
      struct stat dst {};
      if (::stat(at.c_str(), &dst) != 0) return at.string() + ": " + std::strerror(errno);
      if (auto r = check_one(at, dst, "folder"); !r.empty()) return r + via();
      return {};
    }
    if (!S_ISDIR(st.st_mode)) return next.string() + ": " + std::strerror(ENOTDIR) + via();
    if (auto r = check_ancestor(next, st); !r.empty()) {
      // Name the link when the folder's next entry is one: it is that hop
      // whoever may write the folder can replace.
      struct stat lst {};
      const fs::path entry = next / todo.front();
      if (::lstat(entry.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode))
        return r + "; it holds the symbolic link " + entry.string() + " on the way to " + abs.string();
      return r + via();
    }
    at = next;
  }
  return {};
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
