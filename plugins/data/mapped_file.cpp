// mapped_file.cpp — mmap(2) of a whole file, read-only and private. An empty
// file maps nothing (mmap refuses length 0) and reads as zero bytes.
#include "mapped_file.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plinth/plugin.hpp"

namespace plinth::data {

mapped_file::~mapped_file() {
  if (map_) ::munmap(map_, size_);
}

plinth_status mapped_file::open(const plinth_host* host, const std::string& what, const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return sdk::failf(host, PLINTH_ERR_IO, "%s file '%s': %s", what.c_str(), path.c_str(),
                      std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    const int e = errno;
    ::close(fd);
    return sdk::failf(host, PLINTH_ERR_IO, "%s file '%s': %s", what.c_str(), path.c_str(),
                      S_ISREG(st.st_mode) ? std::strerror(e) : "not a regular file");
  }
  size_ = static_cast<size_t>(st.st_size);
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const int e = errno;
      ::close(fd);
      size_ = 0;
      return sdk::failf(host, PLINTH_ERR_IO, "%s file '%s': cannot map %zu bytes: %s", what.c_str(),
                        path.c_str(), static_cast<size_t>(st.st_size), std::strerror(e));
    }
    map_ = p;
    data_ = static_cast<const unsigned char*>(p);
  }
  ::close(fd);  // the mapping keeps the file
  return PLINTH_OK;
}

}  // namespace plinth::data
