// library.hpp — one opened plugin library: an RAII wrapper around
// boost::dll::shared_library (RTLD_LOCAL | RTLD_NOW), which calls the
// plugin's shutdown() (when set) before closing. Also the file checks done
// before opening: ELF magic and sha256. Not here: validating tables.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <boost/dll/shared_library.hpp>

#include "plinth/status.hpp"

namespace plinth {

class Library {
 public:
  // Open `path`; io when it cannot be read, bad_data when the dynamic
  // loader refuses it (the message carries the loader's reason).
  static Result<std::shared_ptr<Library>> open(const std::filesystem::path& path);

  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;
  ~Library();

  bool has(const char* symbol) const;
  // Address of `symbol` as `T*` (T a function type), or nullptr.
  template <class T>
  T* get(const char* symbol) const {
    return has(symbol) ? &lib_.get<T>(symbol) : nullptr;
  }
  const std::filesystem::path& path() const { return path_; }

  // Called once just before the library is closed (the plugin's shutdown).
  void set_shutdown(void (*fn)(void)) { shutdown_ = fn; }

 private:
  Library(boost::dll::shared_library lib, std::filesystem::path path)
      : lib_(std::move(lib)), path_(std::move(path)) {}
  boost::dll::shared_library lib_;
  std::filesystem::path path_;
  void (*shutdown_)(void) = nullptr;
};

// Lower-case hex sha256 of the file's bytes; io error when unreadable.
Result<std::string> file_sha256(const std::filesystem::path& path);

// True when the file starts with the ELF magic (\x7fELF).
bool has_elf_magic(const std::filesystem::path& path);

}  // namespace plinth
