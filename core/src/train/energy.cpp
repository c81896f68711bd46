// energy.cpp — RAPL package energy through Linux powercap
// (/sys/class/powercap/intel-rapl:<N>/energy_uj, wrapping at
// max_energy_range_uj) and the meter that adds up a run's energy sources.
// Not here: GPU counters (a backend provides its own EnergySource).
#include "train/energy.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <regex>

namespace plinth::train {
namespace {

// A one-line sysfs file, or the reason it cannot be read.
Result<std::string> read_line(const std::filesystem::path& path) {
  errno = 0;
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) {
    const int e = errno;
    if (e == EACCES || e == EPERM) return error(errc::io, "permission denied on " + path.string());
    if (e == ENOENT) return error(errc::io, "no " + path.string());
    return error(errc::io, path.string() + ": " + std::strerror(e));
  }
  char buf[256] = {};
  const bool got = std::fgets(buf, sizeof buf, f) != nullptr;
  const int e = errno;
  std::fclose(f);
  // sysfs can refuse at read time rather than open time.
  if (!got)
    return error(errc::io, e == EACCES || e == EPERM ? "permission denied on " + path.string()
                                                     : path.string() + ": cannot be read");
  std::string s(buf);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

Result<uint64_t> read_u64(const std::filesystem::path& path) {
  auto s = read_line(path);
  if (!s) return s.status();
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(s->c_str(), &end, 10);
  if (s->empty() || *end != '\0' || errno != 0)
    return error(errc::bad_data, path.string() + ": not a counter: '" + *s + "'");
  return static_cast<uint64_t>(v);
}

}  // namespace

uint64_t counter_delta(uint64_t last, uint64_t now, uint64_t max_range) {
  if (now >= last) return now - last;
  // Wrapped once: from `last` up to the top of the range, then from 0 to `now`.
  return max_range >= last ? (max_range - last) + now : now;
}

std::filesystem::path RaplSource::default_root() {
  const char* env = std::getenv("PLINTH_POWERCAP_ROOT");
  return env && *env ? std::filesystem::path(env) : std::filesystem::path("/sys/class/powercap");
}

Result<std::unique_ptr<RaplSource>> RaplSource::open(const std::filesystem::path& root) {
  std::error_code ec;
  if (!std::filesystem::is_directory(root, ec)) return error(errc::io, "no " + root.string());
  // Top-level zones only: intel-rapl:<N>, not intel-rapl:<N>:<M>.
  static const std::regex top_level(R"(intel-rapl:[0-9]+)");
  std::vector<std::filesystem::path> zone_dirs;
  for (const auto& e : std::filesystem::directory_iterator(root, ec))
    if (std::regex_match(e.path().filename().string(), top_level)) zone_dirs.push_back(e.path());
  if (ec) return error(errc::io, root.string() + ": " + ec.message());
  std::sort(zone_dirs.begin(), zone_dirs.end());
  if (zone_dirs.empty()) return error(errc::not_found, "no RAPL zone (intel-rapl:<N>) in " + root.string());
  auto src = std::unique_ptr<RaplSource>(new RaplSource());
  for (const auto& d : zone_dirs) {
    auto name = read_line(d / "name");
    // psys covers the whole platform, packages included: adding it counts twice.
    if (name && name->rfind("package", 0) != 0) continue;
    Zone z;
    z.energy = d / "energy_uj";
    z.name = name ? *name : d.filename().string();
    auto range = read_u64(d / "max_energy_range_uj");
    if (!range) return range.status();
    z.max_range = *range;
    auto now = read_u64(z.energy);
    if (!now) return now.status();
    z.last = *now;
    src->zones_.push_back(std::move(z));
  }
  if (src->zones_.empty())
    return error(errc::not_found, "no RAPL package zone in " + root.string() + " (only psys or other zones)");
  return src;
}

std::string RaplSource::name() const {
  std::string s = "rapl (";
  for (const auto& z : zones_) s += (&z == zones_.data() ? "" : ", ") + z.name;
  return s + ")";
}

Status RaplSource::sample() {
  for (auto& z : zones_) {
    auto now = read_u64(z.energy);
    if (!now) return now.status();
    total_uj_ += counter_delta(z.last, *now, z.max_range);
    z.last = *now;
  }
  return {};
}

EnergyMeter EnergyMeter::with_rapl(const std::filesystem::path& powercap_root) {
  EnergyMeter m;
  auto rapl = RaplSource::open(powercap_root);
  if (rapl)
    m.add(std::move(*rapl));
  else
    m.add_unavailable("CPU (RAPL): " + rapl.status().message());
  return m;
}

void EnergyMeter::add(std::unique_ptr<EnergySource> source) { sources_.push_back(std::move(source)); }

void EnergyMeter::sample() {
  if (failed_) return;
  for (auto& s : sources_)
    if (Status st = s->sample(); !st.ok()) {
      failed_ = true;
      reasons_.push_back(s->name() + ": " + st.message() + " during the run");
      return;
    }
}

double EnergyMeter::joules() const {
  double j = 0;
  for (const auto& s : sources_) j += s->joules();
  return j;
}

std::string EnergyMeter::sources() const {
  std::string s;
  for (const auto& src : sources_) s += (s.empty() ? "" : ", ") + src->name();
  return s;
}

std::string EnergyMeter::note() const {
  std::string s;
  for (const auto& r : reasons_) s += (s.empty() ? "" : "; ") + r;
  return s;
}

}  // namespace plinth::train
