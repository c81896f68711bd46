// images_loader_bench.cpp — images per second of the `images` data source on
// one thread: JPEG decode + random resized crop + flip + normalise, the
// work a training loader does per sample. Loads plinth-data-std with dlopen
// and calls its read_ctx in batches of a shuffled order, as the loader's
// single worker would. Prints one JSON line. bench/images_loader.sh runs it
// beside torchvision (bench/torch_images_loader.py). Not a test.
//   plinth-bench-images ROOT SIZE [EPOCHS] [BATCH]
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "fake_host.hpp"
#include "plinth/data.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s ROOT SIZE [EPOCHS] [BATCH]\n", argv[0]);
    return 2;
  }
  const std::string root = argv[1];
  const int size = std::atoi(argv[2]);
  const int epochs = argc > 3 ? std::atoi(argv[3]) : 1;
  const int batch = argc > 4 ? std::atoi(argv[4]) : 64;
  void* lib = dlopen(PLINTH_DATA_PLUGIN, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    std::fprintf(stderr, "dlopen: %s\n", dlerror());
    return 1;
  }
  auto get = reinterpret_cast<plinth_plugin_get_fn>(dlsym(lib, PLINTH_PLUGIN_GET_SYMBOL));
  const plinth_plugin* p = get();
  const plinth_data_v1* t = nullptr;
  for (size_t i = 0; i < p->num_components; ++i)
    if (std::string(p->components[i].name) == "images")
      t = static_cast<const plinth_data_v1*>(p->components[i].table);
  if (!t) return 1;
  plinth::test::fake_host host;
  const std::string cfg = "root = '" + root + "'\nchannels = 3\nsize = " + std::to_string(size) +
                          "\nrandom_resized_crop = true\nflip = true\nverify = 'none'\n"
                          "mean = [0.485, 0.456, 0.406]\nstd = [0.229, 0.224, 0.225]\n";
  const auto t_open = std::chrono::steady_clock::now();
  plinth_data_source* src = nullptr;
  if (t->open(host.host(), host.config(cfg), &src) != PLINTH_OK) {
    std::fprintf(stderr, "open: %s\n", host.last_error().c_str());
    return 1;
  }
  const double open_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_open).count();
  plinth_data_info info{};
  info.struct_size = PLINTH_DATA_INFO_STRUCT_SIZE;
  t->info(src, &info);
  const uint64_t n = info.num_samples;
  std::vector<float> img(static_cast<size_t>(batch) * 3 * size * size);
  std::vector<int32_t> lab(static_cast<size_t>(batch));
  void* bufs[] = {img.data(), lab.data()};
  std::vector<uint64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(1);
  const auto t0 = std::chrono::steady_clock::now();
  uint64_t images = 0;
  for (int e = 0; e < epochs; ++e) {
    std::shuffle(order.begin(), order.end(), rng);
    plinth_data_read_context ctx{};
    ctx.struct_size = PLINTH_DATA_READ_CONTEXT_STRUCT_SIZE;
    ctx.seed = 1;
    ctx.epoch = uint64_t(e);
    for (uint64_t b = 0; b < n; b += uint64_t(batch)) {
      const size_t m = size_t(std::min<uint64_t>(uint64_t(batch), n - b));
      if (t->read_ctx(src, &ctx, order.data() + b, m, bufs) != PLINTH_OK) {
        std::fprintf(stderr, "read: %s\n", host.last_error().c_str());
        return 1;
      }
      images += m;
    }
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "{\"impl\":\"plinth\",\"root\":\"%s\",\"size\":%d,\"images\":%llu,\"seconds\":%.3f,"
      "\"images_per_s\":%.1f,\"open_s\":%.3f}\n",
      root.c_str(), size, static_cast<unsigned long long>(images), s, images / s, open_s);
  t->close(src);
  return 0;
}
