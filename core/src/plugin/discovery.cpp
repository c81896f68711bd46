// discovery.cpp — lists manifest files in precedence order (see
// discovery.hpp and docs/plugins.md). Looks at the file system only: it
// neither parses manifests nor opens libraries.
#include "plugin/discovery.hpp"

#include <algorithm>
#include <cstdlib>
#include <set>

#include <boost/dll/runtime_symbol_info.hpp>

#include "plinth/log.hpp"

namespace fs = std::filesystem;

namespace plinth {

namespace {

class Collector {
 public:
  explicit Collector(std::vector<FoundManifest>& out) : out_(out) {}

  // Add a file or a folder's *.toml files. Returns false when `p` is missing.
  bool add(const fs::path& p, const std::string& origin) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<fs::path> files;
      for (const auto& de : fs::directory_iterator(p, ec)) {
        if (de.path().extension() == ".toml" && !fs::is_directory(de.path(), ec)) files.push_back(de.path());
      }
      std::sort(files.begin(), files.end(),
                [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });
      for (const auto& f : files) add_file(f, origin);
      return true;
    }
    if (fs::exists(p, ec)) {
      add_file(p, origin);
      return true;
    }
    return false;
  }

 private:
  void add_file(const fs::path& f, const std::string& origin) {
    std::error_code ec;
    fs::path canon = fs::weakly_canonical(fs::absolute(f, ec), ec);
    if (ec) canon = fs::absolute(f).lexically_normal();
    if (!seen_.insert(canon).second) return;
    out_.push_back({fs::absolute(f).lexically_normal(), origin});
  }

  std::vector<FoundManifest>& out_;
  std::set<fs::path> seen_;
};

std::vector<std::string> split_path_list(const char* s) {
  std::vector<std::string> parts;
  if (!s) return parts;
  std::string cur;
  for (const char* c = s; *c; ++c) {
    if (*c == ':') {
      if (!cur.empty()) parts.push_back(cur);
      cur.clear();
    } else {
      cur += *c;
    }
  }
  if (!cur.empty()) parts.push_back(cur);
  return parts;
}

}  // namespace

std::vector<fs::path> install_manifest_dirs() {
  std::vector<fs::path> dirs;
  // `file` sits in <prefix>/<subdir>: the manifests are in <prefix>/<manifest dir>.
  auto add = [&](const fs::path& file, const fs::path& subdir) {
    if (file.empty() || subdir.is_absolute()) return;
    std::error_code ec;
    // Symlinks resolved first: with a merged /usr the loader may name the
    // library /lib/x86_64-linux-gnu/libplinth.so.0, whose prefix is /usr.
    fs::path prefix = fs::weakly_canonical(file, ec).parent_path();
    if (ec) prefix = file.parent_path();
    for (const auto& part : subdir)
      if (!part.empty() && part != ".") prefix /= "..";
    fs::path d = (prefix / PLINTH_INSTALL_MANIFESTDIR).lexically_normal();
    if (!fs::is_directory(d, ec)) return;
    fs::path c = fs::weakly_canonical(d, ec);
    if (std::find(dirs.begin(), dirs.end(), c) == dirs.end()) dirs.push_back(c);
  };
  boost::dll::fs::error_code ec;
  add(fs::path(boost::dll::program_location(ec).string()), "bin");
  // The folder holding libplinth.so itself (this function is in it), for an
  // application other than `plinth` linked against it: <prefix>/lib in a
  // build tree or a relocated install, <prefix>/lib/<multiarch> in a
  // Debian-style one (/usr/lib/x86_64-linux-gnu).
  const fs::path lib(boost::dll::this_line_location(ec).string());
  add(lib, "lib");
  add(lib, PLINTH_INSTALL_LIBDIR);
  return dirs;
}

Result<std::vector<FoundManifest>> discover_manifests(const DiscoveryOptions& options) {
  std::vector<FoundManifest> out;
  Collector c(out);
  for (const auto& p : options.command_line_manifests) {
    if (!c.add(p, "--plugin-path")) return error(errc::io, "plugin manifest path not found: " + p.string());
  }
  for (const auto& p : options.pipeline_manifests) {
    if (!c.add(p, "pipeline")) return error(errc::io, "plugin manifest path not found: " + p.string());
  }
  if (options.use_environment) {
    for (const auto& p : split_path_list(std::getenv("PLINTH_PLUGIN_PATH"))) {
      if (!c.add(p, "PLINTH_PLUGIN_PATH"))
        logger().debug("PLINTH_PLUGIN_PATH: {} does not exist, skipped", p);
    }
  }
  if (options.use_environment && options.use_user) {
    fs::path user;
    if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg) {
      user = fs::path(xdg) / "plinth" / "plugins.d";
    } else if (const char* home = std::getenv("HOME"); home && *home) {
      user = fs::path(home) / ".config" / "plinth" / "plugins.d";
    }
    if (!user.empty()) c.add(user, "user");
  }
  if (options.use_system) c.add("/etc/plinth/plugins.d", "system");
  if (options.use_install) {
    for (const auto& d : install_manifest_dirs()) c.add(d, "install");
  }
  return out;
}

}  // namespace plinth
