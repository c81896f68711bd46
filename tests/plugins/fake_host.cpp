// fake_host.cpp — the services of plinth::test::fake_host: typed lookups of
// dotted keys in a toml::table with plugin.h's return rules (absent ->
// NOT_FOUND, other type -> INVALID_ARGUMENT with a message naming the key).
#include "fake_host.hpp"

namespace plinth::test {

struct fake_host_access {
  static fake_host* self(void* ctx) { return static_cast<fake_host*>(ctx); }
  static plinth_status set_error(void* ctx, plinth_status code, const char* msg) {
    fake_host* h = self(ctx);
    std::lock_guard<std::mutex> lock(h->mu_);
    h->error_ = msg ? msg : "";
    h->code_ = code;
    return code;
  }
  static plinth_status wrong_type(void* ctx, const char* key, const char* want) {
    return set_error(ctx, PLINTH_ERR_INVALID_ARGUMENT,
                     (std::string("config key '") + key + "' must be " + want).c_str());
  }
  static toml::node_view<const toml::node> at(const plinth_config* c, const char* key) {
    return toml::node_view<const toml::node>(c->table.at_path(key).node());
  }
};

namespace {

using A = fake_host_access;

void log_fn(void*, plinth_log_level, const char*, const char*) {}

plinth_status get_int(void* ctx, const plinth_config* c, const char* key, int64_t* out) {
  auto n = A::at(c, key);
  if (!n) return PLINTH_ERR_NOT_FOUND;
  if (auto v = n.value_exact<int64_t>()) return *out = *v, PLINTH_OK;
  return A::wrong_type(ctx, key, "an integer");
}
plinth_status get_float(void* ctx, const plinth_config* c, const char* key, double* out) {
  auto n = A::at(c, key);
  if (!n) return PLINTH_ERR_NOT_FOUND;
  if (auto v = n.value_exact<double>()) return *out = *v, PLINTH_OK;
  if (auto v = n.value_exact<int64_t>()) return *out = static_cast<double>(*v), PLINTH_OK;
  return A::wrong_type(ctx, key, "a number");
}
plinth_status get_bool(void* ctx, const plinth_config* c, const char* key, int32_t* out) {
  auto n = A::at(c, key);
  if (!n) return PLINTH_ERR_NOT_FOUND;
  if (auto v = n.value_exact<bool>()) return *out = *v ? 1 : 0, PLINTH_OK;
  return A::wrong_type(ctx, key, "a boolean");
}
plinth_status get_string(void* ctx, const plinth_config* c, const char* key, const char** out) {
  auto n = A::at(c, key);
  if (!n) return PLINTH_ERR_NOT_FOUND;
  if (auto s = n.as_string()) return *out = s->get().c_str(), PLINTH_OK;
  return A::wrong_type(ctx, key, "a string");
}
plinth_status array_size(void* ctx, const plinth_config* c, const char* key, size_t* out) {
  auto n = A::at(c, key);
  if (!n) return PLINTH_ERR_NOT_FOUND;
  if (auto a = n.as_array()) return *out = a->size(), PLINTH_OK;
  return A::wrong_type(ctx, key, "an array");
}
const toml::node* element(const plinth_config* c, const char* key, size_t i) {
  auto n = A::at(c, key);
  auto a = n.as_array();
  return a && i < a->size() ? a->get(i) : nullptr;
}
plinth_status array_int(void* ctx, const plinth_config* c, const char* key, size_t i, int64_t* out) {
  const toml::node* e = element(c, key, i);
  if (!A::at(c, key)) return PLINTH_ERR_NOT_FOUND;
  if (e && e->is_integer()) return *out = e->as_integer()->get(), PLINTH_OK;
  return A::wrong_type(ctx, key, "an array of integers");
}
plinth_status array_float(void* ctx, const plinth_config* c, const char* key, size_t i, double* out) {
  const toml::node* e = element(c, key, i);
  if (!A::at(c, key)) return PLINTH_ERR_NOT_FOUND;
  if (e && e->is_floating_point()) return *out = e->as_floating_point()->get(), PLINTH_OK;
  if (e && e->is_integer()) return *out = static_cast<double>(e->as_integer()->get()), PLINTH_OK;
  return A::wrong_type(ctx, key, "an array of numbers");
}
plinth_status array_string(void* ctx, const plinth_config* c, const char* key, size_t i, const char** out) {
  const toml::node* e = element(c, key, i);
  if (!A::at(c, key)) return PLINTH_ERR_NOT_FOUND;
  if (e && e->is_string()) return *out = e->as_string()->get().c_str(), PLINTH_OK;
  return A::wrong_type(ctx, key, "an array of strings");
}
plinth_status get_path(void* ctx, const plinth_config* c, const char* key, const char** out) {
  const char* s = nullptr;
  plinth_status st = get_string(ctx, c, key, &s);
  if (st != PLINTH_OK) return st;
  std::filesystem::path p(s);
  if (p.is_relative() && !c->base_dir.empty()) p = c->base_dir / p;
  c->strings.push_back(p.string());
  *out = c->strings.back().c_str();
  return PLINTH_OK;
}

}  // namespace

fake_host::fake_host() {
  host_.struct_size = PLINTH_HOST_STRUCT_SIZE;
  host_.abi_major = PLINTH_ABI_MAJOR;
  host_.abi_minor = PLINTH_ABI_MINOR;
  host_.ctx = this;
  host_.log = log_fn;
  host_.set_error = A::set_error;
  host_.config_get_int = get_int;
  host_.config_get_float = get_float;
  host_.config_get_bool = get_bool;
  host_.config_get_string = get_string;
  host_.config_array_size = array_size;
  host_.config_array_int = array_int;
  host_.config_array_float = array_float;
  host_.config_array_string = array_string;
  host_.config_get_path = get_path;
}

const plinth_config* fake_host::config(std::string_view toml_text, const std::filesystem::path& base_dir) {
  auto c = std::make_unique<plinth_config>();
  c->table = toml::parse(toml_text);
  c->base_dir = base_dir;
  configs_.push_back(std::move(c));
  return configs_.back().get();
}

std::string fake_host::last_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return error_;
}
plinth_status fake_host::last_code() const {
  std::lock_guard<std::mutex> lock(mu_);
  return code_;
}
void fake_host::clear_error() {
  std::lock_guard<std::mutex> lock(mu_);
  error_.clear();
  code_ = PLINTH_OK;
}

}  // namespace plinth::test
