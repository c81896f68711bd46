// exports.cpp — which symbols a plugin library exports, read from its ELF
// dynamic symbol table (the file, not the loaded image: nothing of the
// plugin runs). A plugin exports only plinth_plugin_get and, optionally,
// plinth_plugin_score; anything else (typically weak std:: template
// instantiations that -fvisibility=hidden alone leaves public) can bind to
// another plugin's copy at load time. plinth_add_plugin's version script
// exports the entry points only.
#include <elf.h>

#include <cstring>
#include <fstream>
#include <vector>

#include "check.hpp"

namespace plinth::plugin_check {

namespace {

template <typename T>
bool read_at(std::ifstream& f, uint64_t off, T& out) {
  f.seekg(static_cast<std::streamoff>(off));
  return static_cast<bool>(f.read(reinterpret_cast<char*>(&out), sizeof out));
}

}  // namespace

Result<std::vector<std::string>> extra_exports(const std::filesystem::path& lib) {
  std::ifstream f(lib, std::ios::binary);
  if (!f) return error(errc::io, lib.string() + ": cannot read");
  Elf64_Ehdr eh{};
  if (!read_at(f, 0, eh) || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
      eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
      eh.e_shentsize != sizeof(Elf64_Shdr))
    return error(errc::bad_data, lib.string() + ": not a 64-bit little-endian ELF file");
  std::vector<Elf64_Shdr> sh(eh.e_shnum);
  for (size_t i = 0; i < sh.size(); ++i)
    if (!read_at(f, eh.e_shoff + i * sizeof(Elf64_Shdr), sh[i]))
      return error(errc::bad_data, lib.string() + ": truncated section headers");
  std::vector<std::string> extra;
  for (const auto& s : sh) {
    if (s.sh_type != SHT_DYNSYM || s.sh_link >= sh.size() || s.sh_entsize != sizeof(Elf64_Sym)) continue;
    const Elf64_Shdr& strtab = sh[s.sh_link];
    if (strtab.sh_size > (uint64_t{64} << 20) || s.sh_size > (uint64_t{256} << 20))
      return error(errc::bad_data, lib.string() + ": symbol table too large");
    std::string names(strtab.sh_size, '\0');
    f.seekg(static_cast<std::streamoff>(strtab.sh_offset));
    if (!f.read(names.data(), static_cast<std::streamsize>(names.size())))
      return error(errc::bad_data, lib.string() + ": truncated string table");
    for (uint64_t k = 1; k < s.sh_size / sizeof(Elf64_Sym); ++k) {
      Elf64_Sym sym{};
      if (!read_at(f, s.sh_offset + k * sizeof(Elf64_Sym), sym))
        return error(errc::bad_data, lib.string() + ": truncated symbol table");
      const int bind = ELF64_ST_BIND(sym.st_info), type = ELF64_ST_TYPE(sym.st_info);
      const int vis = ELF64_ST_VISIBILITY(sym.st_other);
      if (sym.st_shndx == SHN_UNDEF || (bind != STB_GLOBAL && bind != STB_WEAK && bind != STB_GNU_UNIQUE) ||
          (vis != STV_DEFAULT && vis != STV_PROTECTED) ||
          (type != STT_FUNC && type != STT_OBJECT && type != STT_GNU_IFUNC && type != STT_TLS) ||
          sym.st_name >= names.size())
        continue;
      const std::string name = names.c_str() + sym.st_name;
      if (!name.empty() && name != "plinth_plugin_get" && name != "plinth_plugin_score")
        extra.push_back(name);
    }
  }
  return extra;
}

}  // namespace plinth::plugin_check
