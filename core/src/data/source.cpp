// source.cpp — opening a data-source plugin, reading its schema and its
// metadata (ABI 1.1; absent from older tables).
#include "data/source.hpp"

#include "exec/backend.hpp"

namespace plinth::data {

Result<std::shared_ptr<Source>> Source::open(const Registry& registry, const std::string& component,
                                             const plinth_config* cfg, std::string what) {
  auto comp = registry.find(PLINTH_KIND_DATA, component);
  if (!comp) return Status(comp.status()).with_context(what);
  std::shared_ptr<Source> s(new Source());
  s->what_ = std::move(what);
  s->table_ = static_cast<const plinth_data_v1*>((*comp)->table);
  s->keep_alive_ = registry.keep_alive(*comp);
  if (plinth_status st = s->table_->open(registry.host(), cfg, &s->src_); st != PLINTH_OK)
    return plugin_status(st, s->what_);
  s->info_.struct_size = sizeof(plinth_data_info);
  if (plinth_status st = s->table_->info(s->src_, &s->info_); st != PLINTH_OK)
    return plugin_status(st, s->what_);
  if (s->info_.flags & PLINTH_DATA_STREAMING)
    return error(errc::unsupported,
                 s->what_ + ": streaming data sources are not supported by this trainer yet");
  if (!s->table_->read) return error(errc::internal, s->what_ + ": the source has no read()");
  for (int32_t i = 0; i < s->info_.num_fields; ++i) {
    plinth_data_field f{};
    f.struct_size = sizeof f;
    if (plinth_status st = s->table_->field(s->src_, i, &f); st != PLINTH_OK)
      return plugin_status(st, s->what_);
    f.name[sizeof f.name - 1] = '\0';
    if (f.ndim < 0 || f.ndim > 8) return error(errc::internal, s->what_ + ": field with bad rank");
    Field fd{f.name, f.dtype, std::vector<int64_t>(f.shape, f.shape + f.ndim), f.num_classes, 0};
    fd.sample_bytes = exec::dtype_size(f.dtype);
    for (int64_t d : fd.shape) fd.sample_bytes *= static_cast<uint64_t>(d);
    s->fields_.push_back(std::move(fd));
  }
  return s;
}

Source::~Source() {
  if (src_) table_->close(src_);
}

int Source::field_index(const std::string& name) const {
  for (size_t i = 0; i < fields_.size(); ++i)
    if (fields_[i].name == name) return static_cast<int>(i);
  return -1;
}

Status Source::read(const uint64_t* indices, size_t n, void* const* buffers) {
  if (plinth_status st = table_->read(src_, indices, n, buffers); st != PLINTH_OK)
    return plugin_status(st, what_);
  return {};
}

Result<std::optional<std::string>> Source::metadata(const std::string& key) const {
  // A 1.0 table ends before metadata: its struct_size says so.
  if (!PLINTH_HAS_FIELD(table_, plinth_data_v1, metadata) || !table_->metadata)
    return std::optional<std::string>();
  size_t len = 0;
  plinth_status st = table_->metadata(src_, key.c_str(), nullptr, 0, &len);
  if (st == PLINTH_ERR_NOT_FOUND) return std::optional<std::string>();
  if (st != PLINTH_OK) return plugin_status(st, what_ + ": metadata '" + key + "'");
  std::string value(len + 1, '\0');
  size_t got = 0;
  st = table_->metadata(src_, key.c_str(), value.data(), value.size(), &got);
  if (st != PLINTH_OK) return plugin_status(st, what_ + ": metadata '" + key + "'");
  if (got != len)  // the value changed between the calls: a plugin bug
    return error(errc::internal, what_ + ": metadata '" + key + "' changed size between two calls");
  value.resize(len);
  return std::optional<std::string>(std::move(value));
}

}  // namespace plinth::data
