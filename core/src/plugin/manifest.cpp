// manifest.cpp — parses manifest files with toml++ into ManifestEntry values
// and parses declared ABI ranges. Every problem is one "file:line:col:
// message" naming the key. Not here: opening libraries or discovery order.
#include "plugin/manifest.hpp"
#include "util/toml_names.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>

#include <toml++/toml.h>

namespace plinth {

namespace {

std::string where(const std::filesystem::path& file, const toml::source_region& src) {
  std::ostringstream o;
  o << file.string() << ':' << src.begin.line << ':' << src.begin.column;
  return o.str();
}

bool is_hex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
  }
  return true;
}

bool parse_u32(std::string_view s, uint32_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Parse one [[plugin]] table; returns false (with errors added) when it is unusable.
bool parse_entry(const toml::table& t, const std::filesystem::path& file, ManifestEntry& e,
                 std::vector<std::string>& errors) {
  const std::string at = where(file, t.source());
  e.manifest = file;
  e.line = static_cast<int>(t.source().begin.line);
  bool ok = true;
  auto req_string = [&](const char* key, std::string& out) {
    const toml::node* n = t.get(key);
    if (!n) {
      errors.push_back(at + ": [[plugin]] entry is missing required key '" + key + "'");
      ok = false;
      return;
    }
    if (!n->is_string()) {
      errors.push_back(where(file, n->source()) + ": key '" + key + "' must be a string, got " +
                       toml_type_name(n->type()));
      ok = false;
      return;
    }
    out = n->as_string()->get();
    if (out.empty()) {
      errors.push_back(where(file, n->source()) + ": key '" + key + "' must not be empty");
      ok = false;
    }
  };
  std::string path;
  req_string("name", e.name);
  req_string("kind", e.kind);
  req_string("path", path);
  if (ok && !kind_from_name(e.kind)) {
    errors.push_back(where(file, t.get("kind")->source()) + ": key 'kind' is '" + e.kind +
                     "'; expected backend, comm, optimizer or data");
    ok = false;
  }
  if (!path.empty()) {
    std::filesystem::path p(path);
    e.path_relative = p.is_relative();
    if (p.is_relative()) p = file.parent_path() / p;
    e.path = std::filesystem::absolute(p).lexically_normal();
  }
  for (auto&& [k, v] : t) {
    const std::string key(k.str());
    if (key == "name" || key == "kind" || key == "path") continue;
    const std::string vat = where(file, v.source());
    if (key == "abi") {
      e.abi_line = static_cast<int>(v.source().begin.line);
      if (v.is_integer()) {
        e.abi = std::to_string(v.as_integer()->get());
      } else if (v.is_string()) {
        e.abi = v.as_string()->get();
      } else {
        errors.push_back(vat + ": key 'abi' must be a string such as \"1\" or \"1.2\", got " +
                         toml_type_name(v.type()));
        ok = false;
        continue;
      }
      auto r = parse_abi_range(e.abi);
      if (!r) {
        errors.push_back(vat + ": key 'abi': " + r.status().message());
        ok = false;
      }
    } else if (key == "sha256") {
      if (!v.is_string() || !is_hex64(v.as_string()->get())) {
        errors.push_back(vat + ": key 'sha256' must be a string of 64 hex digits");
        ok = false;
        continue;
      }
      std::string s = v.as_string()->get();
      for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      e.sha256 = s;
    } else if (key == "priority") {
      if (!v.is_integer()) {
        errors.push_back(vat + ": key 'priority' must be an integer, got " + toml_type_name(v.type()));
        ok = false;
        continue;
      }
      e.priority = static_cast<int>(v.as_integer()->get());
    } else if (key == "components") {
      const toml::array* arr = v.as_array();
      bool good = arr && !arr->empty();
      for (size_t i = 0; good && i < arr->size(); ++i) {
        const toml::node& n = *arr->get(i);
        good =
            n.is_string() && !n.as_string()->get().empty() &&
            std::find(e.components.begin(), e.components.end(), n.as_string()->get()) == e.components.end();
        if (good) e.components.push_back(n.as_string()->get());
      }
      if (!good) {
        errors.push_back(vat +
                         ": key 'components' must be a non-empty array of distinct names, such as [\"cpu\"]");
        e.components.clear();
        ok = false;
      }
    } else if (v.is_string()) {
      e.metadata[key] = v.as_string()->get();
    } else {
      errors.push_back(vat + ": key '" + key + "' (metadata) must be a string, got " +
                       toml_type_name(v.type()));
      ok = false;
    }
  }
  return ok;
}

}  // namespace

const char* kind_name(plinth_kind kind) {
  switch (kind) {
    case PLINTH_KIND_BACKEND:
      return "backend";
    case PLINTH_KIND_COMM:
      return "comm";
    case PLINTH_KIND_OPTIMIZER:
      return "optimizer";
    case PLINTH_KIND_DATA:
      return "data";
  }
  return "unknown";
}

int kind_from_name(std::string_view name) {
  if (name == "backend") return PLINTH_KIND_BACKEND;
  if (name == "comm") return PLINTH_KIND_COMM;
  if (name == "optimizer") return PLINTH_KIND_OPTIMIZER;
  if (name == "data") return PLINTH_KIND_DATA;
  return 0;
}

Result<AbiRange> parse_abi_range(std::string_view text) {
  auto bad = [&] {
    std::string msg(1, '\'');
    msg.append(text);
    msg += "' is not an ABI range (expected \"1\", \"1.2\" or \"1.0-1.3\")";
    return error(errc::config, std::move(msg));
  };
  AbiRange r;
  auto parse_ver = [](std::string_view s, uint32_t& major, uint32_t* minor) {
    auto dot = s.find('.');
    if (dot == std::string_view::npos) return minor == nullptr ? parse_u32(s, major) : false;
    return parse_u32(s.substr(0, dot), major) && minor && parse_u32(s.substr(dot + 1), *minor);
  };
  auto dash = text.find('-');
  if (dash == std::string_view::npos) {
    if (text.find('.') == std::string_view::npos) {
      if (!parse_ver(text, r.major, nullptr)) return bad();
    } else if (!parse_ver(text, r.major, &r.min_minor)) {
      return bad();
    }
    return r;
  }
  uint32_t major2 = 0;
  if (!parse_ver(text.substr(0, dash), r.major, &r.min_minor) ||
      !parse_ver(text.substr(dash + 1), major2, &r.max_minor))
    return bad();
  if (major2 != r.major || r.max_minor < r.min_minor) return bad();
  return r;
}

std::string abi_range_mismatch(const AbiRange& range, uint32_t major, uint32_t minor) {
  const std::string core = std::to_string(major) + "." + std::to_string(minor);
  if (range.major != major)
    return "declares ABI " + std::to_string(range.major) + ", this core provides ABI " + core;
  if (minor < range.min_minor)
    return "needs ABI " + std::to_string(range.major) + "." + std::to_string(range.min_minor) +
           " or newer, this core provides ABI " + core;
  if (minor > range.max_minor)
    return "declares ABI up to " + std::to_string(range.major) + "." + std::to_string(range.max_minor) +
           ", this core provides ABI " + core;
  return {};
}

ManifestFile parse_manifest(std::string_view text, const std::filesystem::path& file) {
  ManifestFile mf;
  mf.file = file;
  toml::table root;
  try {
    root = toml::parse(text, file.string());
  } catch (const toml::parse_error& err) {
    mf.errors.push_back(where(file, err.source()) + ": " + std::string(err.description()));
    return mf;
  }
  const toml::node* plugins = root.get("plugin");
  if (!plugins) {
    mf.errors.push_back(file.string() + ":1:1: no [[plugin]] entries");
    return mf;
  }
  const toml::array* arr = plugins->as_array();
  if (!arr || !arr->is_array_of_tables()) {
    mf.errors.push_back(where(file, plugins->source()) +
                        ": 'plugin' must be an array of tables ([[plugin]] entries)");
    return mf;
  }
  for (const toml::node& n : *arr) {
    ManifestEntry e;
    if (parse_entry(*n.as_table(), file, e, mf.errors)) mf.entries.push_back(std::move(e));
  }
  return mf;
}

ManifestFile read_manifest(const std::filesystem::path& file) {
  std::error_code ec;
  const auto abs = std::filesystem::absolute(file, ec).lexically_normal();
  std::ifstream in(abs, std::ios::binary);
  if (!in) {
    ManifestFile mf;
    mf.file = abs;
    mf.errors.push_back(abs.string() + ": cannot read manifest");
    return mf;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_manifest(ss.str(), abs);
}

}  // namespace plinth
