// energy.hpp — measured energy of a run: EnergySource (one counter: RAPL
// packages through Linux powercap; a backend's own counter, e.g. NVML, can be
// another) and EnergyMeter (the sum of the sources that can be read, with the
// reason for each that cannot). Never estimates: what is not read is "not
// measured". Not here: where the figures are stored (train/trainer.cpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "plinth/status.hpp"

namespace plinth::train {

// One energy counter. `joules()` is the energy used since the source was
// made (monotonic; the source handles its own counter wrap); sample() must
// be called often enough that a hardware counter wraps at most once between
// two calls (RAPL: minutes to hours).
class EnergySource {
 public:
  virtual ~EnergySource() = default;
  virtual std::string name() const = 0;  // e.g. "rapl (package-0, package-1)"
  virtual Status sample() = 0;           // read the counter(s) now
  virtual double joules() const = 0;     // since construction, as of the last sample()
};

// RAPL through the powercap interface: the top-level zones
// <root>/intel-rapl:<N> whose `name` is package-<i> (the subzones
// intel-rapl:<N>:<M> — core, uncore, dram — are parts of or beside a package
// and are not added; psys would count the packages twice and is skipped).
// Each zone's energy_uj wraps at its max_energy_range_uj.
// `root`: $PLINTH_POWERCAP_ROOT when set, else /sys/class/powercap.
class RaplSource final : public EnergySource {
 public:
  // The source, or why there is none (no folder, no package zone, a counter
  // that cannot be read: "permission denied on <path>").
  static Result<std::unique_ptr<RaplSource>> open(const std::filesystem::path& root);
  static std::filesystem::path default_root();

  std::string name() const override;
  Status sample() override;
  double joules() const override { return static_cast<double>(total_uj_) * 1e-6; }

 private:
  struct Zone {
    std::filesystem::path energy;  // <zone>/energy_uj
    std::string name;              // package-0
    uint64_t max_range = 0;        // max_energy_range_uj: the counter runs 0 .. max_range
    uint64_t last = 0;
  };
  std::vector<Zone> zones_;
  uint64_t total_uj_ = 0;
};

// The change of a counter from `last` to `now` that wraps after `max_range`
// (RAPL's energy_uj counts 0 .. max_energy_range_uj, then starts over).
uint64_t counter_delta(uint64_t last, uint64_t now, uint64_t max_range);

// The run's meter: the sum over the sources that opened. `measured()` is
// false when none did, or when a source that opened later failed to read (a
// part-counted figure would understate); `note()` then says why (one reason
// per source), and names any source left out when others are measured.
class EnergyMeter {
 public:
  // RAPL from `powercap_root` (default: RaplSource::default_root()).
  static EnergyMeter with_rapl(const std::filesystem::path& powercap_root = RaplSource::default_root());

  // A backend's counter (GPU energy). Its failure to open is noted.
  void add(std::unique_ptr<EnergySource> source);
  void add_unavailable(std::string why) { reasons_.push_back(std::move(why)); }

  bool measured() const { return !sources_.empty() && !failed_; }
  void sample();                // every source; a failed read ends the measurement, with its reason
  double joules() const;        // sum since the meter was made, as of the last sample()
  std::string sources() const;  // "rapl (package-0)" ...
  std::string note() const;     // the reasons, joined by "; "

 private:
  std::vector<std::unique_ptr<EnergySource>> sources_;
  std::vector<std::string> reasons_;
  bool failed_ = false;
};

}  // namespace plinth::train
