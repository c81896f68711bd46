// source.cpp — opening a data-source plugin, reading its schema and its
// metadata (ABI 1.1; absent from older tables), reads with a read context
// (ABI 1.2 read_ctx; plain read() for older tables).
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

bool is_image_field(const Field& f) { return f.shape.size() == 3 || f.shape.size() == 2; }

std::vector<int64_t> shape_at(const Field& f, Resolution res) {
  std::vector<int64_t> s = f.shape;
  if (!is_image_field(f)) return s;
  const size_t h = s.size() - 2, w = s.size() - 1;
  if (res.height > 0) s[h] = res.height;
  if (res.width > 0) s[w] = res.width;
  return s;
}

uint64_t sample_bytes_at(const Field& f, Resolution res) {
  uint64_t b = exec::dtype_size(f.dtype);
  for (int64_t d : shape_at(f, res)) b *= static_cast<uint64_t>(d);
  return b;
}

Source::~Source() {
  if (src_) table_->close(src_);
}

int Source::field_index(const std::string& name) const {
  for (size_t i = 0; i < fields_.size(); ++i)
    if (fields_[i].name == name) return static_cast<int>(i);
  return -1;
}

Result<std::shared_ptr<Source>> Source::mix(std::shared_ptr<Source> main, std::shared_ptr<Source> replay,
                                            uint64_t count, std::string what) {
  const auto& a = main->fields();
  const auto& b = replay->fields();
  if (a.size() != b.size())
    return error(errc::config, what + ": " + std::to_string(b.size()) +
                                   " field(s), the data it is mixed into has " + std::to_string(a.size()));
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].dtype != b[i].dtype || a[i].shape != b[i].shape)
      return error(errc::config, what + ": field '" + b[i].name + "' differs in type or shape from '" +
                                     a[i].name + "' of the data it is mixed into");
  if (count > 0 && replay->size() == 0) return error(errc::bad_data, what + ": no samples to replay");
  std::shared_ptr<Source> m(new Source());
  m->fields_ = a;
  for (size_t i = 0; i < a.size(); ++i)
    m->fields_[i].num_classes = std::max(a[i].num_classes, b[i].num_classes);
  m->info_ = main->info_;
  m->info_.num_samples = main->size() + count;
  m->what_ = std::move(what);
  m->mix_main_ = std::move(main);
  m->mix_replay_ = std::move(replay);
  return m;
}

Status Source::read(const uint64_t* indices, size_t n, void* const* buffers) {
  if (mix_main_) {
    // Each index to its source, read one at a time into place (a batch is
    // small; the sources read from memory).
    const uint64_t n_main = mix_main_->size(), n_extra = size() - n_main, n_replay = mix_replay_->size();
    std::vector<void*> one(fields_.size());
    for (size_t k = 0; k < n; ++k) {
      for (size_t f = 0; f < fields_.size(); ++f)
        one[f] = static_cast<unsigned char*>(buffers[f]) + k * fields_[f].sample_bytes;
      const uint64_t i = indices[k];
      if (i < n_main) {
        PLINTH_TRY(mix_main_->read(&i, 1, one.data()));
      } else {
        const uint64_t j = (i - n_main) * n_replay / n_extra;
        PLINTH_TRY(mix_replay_->read(&j, 1, one.data()));
      }
    }
    return {};
  }
  if (plinth_status st = table_->read(src_, indices, n, buffers); st != PLINTH_OK)
    return plugin_status(st, what_);
  return {};
}

bool Source::has_read_ctx() const {
  if (mix_main_) return mix_main_->has_read_ctx() && mix_replay_->has_read_ctx();
  return PLINTH_HAS_FIELD(table_, plinth_data_v1, read_ctx) && table_->read_ctx;
}

Status Source::check_resolution(Resolution res) const {
  if (res.height < 0 || res.width < 0)
    return error(errc::invalid_argument, what_ + ": negative resolution " + std::to_string(res.height) + "x" +
                                             std::to_string(res.width));
  if (res.is_default() || has_read_ctx()) return {};
  for (const auto& f : fields_)
    if (shape_at(f, res) != f.shape)
      return error(errc::unsupported, what_ + ": field '" + f.name + "' cannot be read at " +
                                          std::to_string(res.height) + "x" + std::to_string(res.width) +
                                          ": the source has no read context (ABI 1.2 read_ctx)");
  return {};
}

Status Source::read(const ReadContext& ctx, const uint64_t* indices, size_t n, void* const* buffers) {
  if (mix_main_) {
    const uint64_t n_main = mix_main_->size(), n_extra = size() - n_main, n_replay = mix_replay_->size();
    std::vector<void*> one(fields_.size());
    for (size_t k = 0; k < n; ++k) {
      for (size_t f = 0; f < fields_.size(); ++f)
        one[f] = static_cast<unsigned char*>(buffers[f]) + k * sample_bytes_at(fields_[f], ctx.res);
      const uint64_t i = indices[k];
      if (i < n_main) {
        PLINTH_TRY(mix_main_->read(ctx, &i, 1, one.data()));
      } else {
        const uint64_t j = (i - n_main) * n_replay / n_extra;
        PLINTH_TRY(mix_replay_->read(ctx, &j, 1, one.data()));
      }
    }
    return {};
  }
  if (!has_read_ctx()) {
    PLINTH_TRY(check_resolution(ctx.res));
    return read(indices, n, buffers);
  }
  plinth_data_read_context c{};
  c.struct_size = sizeof c;
  c.seed = ctx.seed;
  c.epoch = ctx.epoch;
  c.height = ctx.res.height;
  c.width = ctx.res.width;
  if (plinth_status st = table_->read_ctx(src_, &c, indices, n, buffers); st != PLINTH_OK)
    return plugin_status(st, what_);
  return {};
}

Result<std::optional<std::string>> Source::metadata(const std::string& key) const {
  if (mix_main_) return mix_main_->metadata(key);
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
