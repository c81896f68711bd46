// data_util.hpp — shared code for the data-source tests: find a component of
// plinth-data-std, make a temp folder, write plain and gzip files, open a
// source through its table and read samples back. Test-only.
#pragma once

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <zlib.h>

#include "fake_host.hpp"
#include "plinth/data.h"

extern "C" const plinth_plugin* plinth_plugin_get(void);

namespace plinth::test {

inline const plinth_component* find_component(const char* name) {
  const plinth_plugin* p = plinth_plugin_get();
  for (size_t i = 0; i < p->num_components; ++i)
    if (std::strcmp(p->components[i].name, name) == 0) return &p->components[i];
  return nullptr;
}

inline const plinth_data_v1* data_table(const char* name) {
  const plinth_component* c = find_component(name);
  return c ? static_cast<const plinth_data_v1*>(c->table) : nullptr;
}

// A fresh folder under the system temp dir, removed at destruction.
struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    std::random_device rd;
    path = std::filesystem::temp_directory_path() /
           ("plinth-data-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

inline void write_bytes(const std::string& path, const std::vector<unsigned char>& b) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}
inline void write_text(const std::string& path, const std::string& s) {
  std::ofstream f(path, std::ios::binary);
  f << s;
}
inline void write_gz(const std::string& path, const std::vector<unsigned char>& b) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, b.data(), static_cast<unsigned>(b.size())), static_cast<int>(b.size()));
  gzclose(f);
}
inline std::vector<unsigned char> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<unsigned char>(std::istreambuf_iterator<char>(f), {});
}

// An opened source, closed at destruction.
struct opened {
  const plinth_data_v1* t = nullptr;
  plinth_data_source* src = nullptr;
  plinth_status status = PLINTH_ERR_INTERNAL;
  opened(fake_host& h, const char* component, const plinth_config* cfg) : t(data_table(component)) {
    status = t->open(h.host(), cfg, &src);
  }
  ~opened() {
    if (src) t->close(src);
  }
  plinth_data_info info() const {
    plinth_data_info i{};
    i.struct_size = PLINTH_DATA_INFO_STRUCT_SIZE;
    EXPECT_EQ(t->info(src, &i), PLINTH_OK);
    return i;
  }
  plinth_data_field field(int k) const {
    plinth_data_field f{};
    f.struct_size = PLINTH_DATA_FIELD_STRUCT_SIZE;
    EXPECT_EQ(t->field(src, k, &f), PLINTH_OK);
    return f;
  }
};

}  // namespace plinth::test
