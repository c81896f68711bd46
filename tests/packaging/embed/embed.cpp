// embed.cpp — opens the plugin registry the way an embedding application
// would, looks up the CPU backend (which opens its library) and prints one
// line per plugin: "<name> <state>".
#include <cstdio>

#include "plinth/log.hpp"
#include "plinth/registry.hpp"

int main() {
  plinth::DiscoveryOptions options;
  options.use_system = false;
  auto reg = plinth::Registry::open(options);
  if (!reg) {
    std::fprintf(stderr, "registry: %s\n", reg.status().message().c_str());
    return 1;
  }
  if (auto cpu = (*reg)->find(PLINTH_KIND_BACKEND, "cpu"); !cpu) {
    std::fprintf(stderr, "registry: %s\n", cpu.status().message().c_str());
    return 1;
  }
  for (const auto& p : (*reg)->plugins())
    std::printf("%s %s\n", p.entry.name.c_str(), plinth::state_name(p.state));
  return 0;
}
