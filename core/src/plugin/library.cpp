// library.cpp — opens and closes plugin libraries through Boost.DLL with
// local symbol binding, and hashes library files (OpenSSL EVP sha256).
// Not here: deciding whether a library is a valid plugin (registry.cpp).
#include "plugin/library.hpp"

#include <array>
#include <cstdio>
#include <fstream>

#include <dlfcn.h>
#include <openssl/evp.h>

#include "plinth/log.hpp"

namespace plinth {

Result<std::shared_ptr<Library>> Library::open(const std::filesystem::path& path) {
  std::error_code fec;
  if (!std::filesystem::is_regular_file(path, fec)) return error(errc::io, "library not found");
  boost::dll::fs::error_code ec;
  boost::dll::shared_library lib;
  lib.load(boost::dll::fs::path(path.string()),
           boost::dll::load_mode::rtld_local | boost::dll::load_mode::rtld_now, ec);
  if (ec || !lib.is_loaded()) {
    // Boost.DLL gives dlerror()'s text only inside its exception's, with the
    // errno of the last failed system call appended (": Bad file
    // descriptor", which says nothing here), so ask the dynamic loader again
    // with the same flags for its own words.
    std::string why = ec ? ec.message() : "unknown error";
    ::dlerror();
    if (void* h = ::dlopen(path.c_str(), RTLD_LOCAL | RTLD_NOW)) {
      ::dlclose(h);
    } else if (const char* e = ::dlerror()) {
      why = e;
    }
    return error(errc::bad_data, "the dynamic loader refused it: " + why);
  }
#if defined(__SANITIZE_THREAD__)
  // ThreadSanitizer builds: libtsan's atexit() interceptor keeps callbacks
  // without the library's handle, so one registered by a plugin (the static
  // CUDA runtime does) would run after unload() unmapped it and crash the
  // process at exit. Keep plugin libraries mapped until then: RTLD_NOLOAD
  // finds the loaded library and RTLD_NODELETE makes its unload a no-op.
  (void)dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
#endif
  return std::shared_ptr<Library>(new Library(std::move(lib), path));
}

Library::~Library() {
  if (shutdown_) {
    try {
      shutdown_();
    } catch (...) {
      logger().warn("plugin library {}: shutdown() threw an exception (plugins must not throw)",
                    path_.string());
    }
  }
  lib_.unload();
}

bool Library::has(const char* symbol) const {
  try {
    return lib_.is_loaded() && lib_.has(symbol);
  } catch (...) {
    return false;
  }
}

Result<std::string> file_sha256(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return error(errc::io, "cannot read " + path.string());
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
    return error(errc::internal, "sha256: OpenSSL digest init failed");
  std::array<char, 1 << 16> buf{};
  while (in) {
    in.read(buf.data(), buf.size());
    if (in.gcount() > 0) EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) return error(errc::io, "error reading " + path.string());
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  std::string hex;
  hex.reserve(static_cast<size_t>(len) * 2);
  static const char* digits = "0123456789abcdef";
  for (unsigned int i = 0; i < len; ++i) {
    hex += digits[md[i] >> 4];
    hex += digits[md[i] & 15];
  }
  return hex;
}

bool has_elf_magic(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  char m[4] = {};
  in.read(m, 4);
  return in.gcount() == 4 && m[0] == 0x7f && m[1] == 'E' && m[2] == 'L' && m[3] == 'F';
}

}  // namespace plinth
