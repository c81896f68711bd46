// Tests train/energy.cpp against a fake powercap tree: package zones summed,
// subzones and psys not counted, a counter wrap through max_energy_range_uj,
// and the "not measured" reasons (no folder, no zone, unreadable counter).
#include "train/energy.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace plinth::train {
namespace {

namespace fs = std::filesystem;

struct FakePowercap {
  fs::path root;
  FakePowercap() {
    root = fs::temp_directory_path() / ("plinth-powercap-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root);
    fs::create_directories(root);
  }
  ~FakePowercap() { fs::remove_all(root); }
  static void put(const fs::path& f, const std::string& v) { std::ofstream(f) << v << "\n"; }
  void zone(const std::string& dir, const std::string& name, uint64_t uj, uint64_t max) {
    fs::create_directories(root / dir);
    put(root / dir / "name", name);
    put(root / dir / "energy_uj", std::to_string(uj));
    put(root / dir / "max_energy_range_uj", std::to_string(max));
  }
  void set(const std::string& dir, uint64_t uj) { put(root / dir / "energy_uj", std::to_string(uj)); }
};

TEST(energy, counter_delta_handles_one_wrap) {
  EXPECT_EQ(counter_delta(100, 250, 1000), 150u);
  EXPECT_EQ(counter_delta(900, 50, 1000), 150u);  // 900 -> 1000, then 0 -> 50
  EXPECT_EQ(counter_delta(5, 5, 1000), 0u);
}

TEST(energy, sums_packages_not_subzones_or_psys_and_handles_wrap) {
  FakePowercap pc;
  const uint64_t max = 262143328850ull;  // a real package's max_energy_range_uj
  pc.zone("intel-rapl:0", "package-0", max - 1'000'000, max);
  pc.zone("intel-rapl:0:0", "core", 5'000'000, max);  // part of package-0
  pc.zone("intel-rapl:0:1", "dram", 7'000'000, max);
  pc.zone("intel-rapl:1", "package-1", 2'000'000, max);
  pc.zone("intel-rapl:2", "psys", 9'000'000, max);  // the whole platform
  auto src = RaplSource::open(pc.root);
  ASSERT_TRUE(src.ok()) << src.status().message();
  EXPECT_EQ((*src)->name(), "rapl (package-0, package-1)");
  EXPECT_EQ((*src)->joules(), 0.0);

  // package-0 wraps: 1 J to the top of its range, then 2.5 J; package-1 +3 J.
  pc.set("intel-rapl:0", 2'500'000);
  pc.set("intel-rapl:1", 5'000'000);
  pc.set("intel-rapl:0:0", 99'000'000);  // ignored
  pc.set("intel-rapl:2", 99'000'000);    // ignored
  ASSERT_TRUE((*src)->sample().ok());
  EXPECT_DOUBLE_EQ((*src)->joules(), 1.0 + 2.5 + 3.0);
  pc.set("intel-rapl:0", 4'500'000);  // +2 J
  ASSERT_TRUE((*src)->sample().ok());
  EXPECT_DOUBLE_EQ((*src)->joules(), 8.5);
}

TEST(energy, meter_from_env_root_is_measured) {
  FakePowercap pc;
  pc.zone("intel-rapl:0", "package-0", 1'000'000, 10'000'000);
  ::setenv("PLINTH_POWERCAP_ROOT", pc.root.c_str(), 1);
  EnergyMeter m = EnergyMeter::with_rapl();
  ::unsetenv("PLINTH_POWERCAP_ROOT");
  ASSERT_TRUE(m.measured()) << m.note();
  pc.set("intel-rapl:0", 4'000'000);
  m.sample();
  EXPECT_DOUBLE_EQ(m.joules(), 3.0);
  EXPECT_EQ(m.sources(), "rapl (package-0)");
}

TEST(energy, not_measured_without_powercap_says_why) {
  EnergyMeter m = EnergyMeter::with_rapl("/nonexistent/powercap");
  EXPECT_FALSE(m.measured());
  EXPECT_EQ(m.note(), "CPU (RAPL): no /nonexistent/powercap");
}

TEST(energy, not_measured_without_package_zone) {
  FakePowercap pc;
  pc.zone("intel-rapl:0", "psys", 1, 10);
  pc.zone("intel-rapl-mmio:0", "package-0", 1, 10);  // not a top-level RAPL zone name
  EnergyMeter m = EnergyMeter::with_rapl(pc.root);
  EXPECT_FALSE(m.measured());
  EXPECT_NE(m.note().find("no RAPL package zone in " + pc.root.string()), std::string::npos) << m.note();
}

TEST(energy, not_measured_when_the_counter_cannot_be_read) {
  FakePowercap pc;
  pc.zone("intel-rapl:0", "package-0", 1, 10);
  const fs::path counter = pc.root / "intel-rapl:0" / "energy_uj";
  if (::geteuid() != 0) {
    // As on most machines since 2020: energy_uj is readable by root only.
    fs::permissions(counter, fs::perms::none);
    EnergyMeter m = EnergyMeter::with_rapl(pc.root);
    EXPECT_FALSE(m.measured());
    EXPECT_EQ(m.note(), "CPU (RAPL): permission denied on " + counter.string());
    fs::permissions(counter, fs::perms::owner_all);
  }
  // Root reads any file: a folder where the counter should be cannot be read by anyone.
  fs::remove(counter);
  fs::create_directory(counter);
  EnergyMeter m = EnergyMeter::with_rapl(pc.root);
  EXPECT_FALSE(m.measured());
  EXPECT_NE(m.note().find(counter.string()), std::string::npos) << m.note();
}

TEST(energy, a_failed_read_during_the_run_ends_the_measurement) {
  FakePowercap pc;
  pc.zone("intel-rapl:0", "package-0", 1, 10'000'000);
  EnergyMeter m = EnergyMeter::with_rapl(pc.root);
  ASSERT_TRUE(m.measured());
  fs::remove(pc.root / "intel-rapl:0" / "energy_uj");
  m.sample();
  EXPECT_FALSE(m.measured());
  EXPECT_NE(m.note().find("during the run"), std::string::npos) << m.note();
}

}  // namespace
}  // namespace plinth::train
