// trust.hpp — whether a plugin file may be loaded: file ownership and
// permissions (as ssh's StrictModes), and detached minisign signatures
// (Ed25519, legacy "Ed" and prehashed "ED") checked against the operator's
// trusted public keys. Not here: the sha256 pin (registry.cpp) or opening.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/registry.hpp"

namespace plinth {

// The policy in force, with the environment applied (see resolve_trust).
struct EffectiveTrust {
  bool allow_insecure = false;
  bool require_signature = false;
  std::filesystem::path trusted_keys_dir;
};

// options + $PLINTH_ALLOW_INSECURE_PLUGINS / $PLINTH_REQUIRE_SIGNATURE (either
// turns its setting on when "1", "true" or "yes") + $PLINTH_TRUSTED_KEYS_DIR
// (used when options.trusted_keys_dir is empty; default /etc/plinth/trusted-keys).
EffectiveTrust resolve_trust(const TrustPolicy& options);

// Empty when `path` (a library, manifest, signature or key file) is safe to
// read, as ssh's StrictModes and sudo's secure path: the path is resolved one
// component at a time and every folder on the way is owned by root or this
// process's user and writable by no one else (a sticky folder such as /tmp
// excepted, as long as it is not the one holding the file or a link); each
// symbolic link hop is owned by root or this user and its folder writable
// by no one else (sticky or not); the file itself and its folder likewise.
// Otherwise one sentence naming the offending path (and the link it holds
// or was reached through), its mode and owner.
std::string insecure_reason(const std::filesystem::path& path);

// --- minisign -------------------------------------------------------------
// Formats (https://jedisct1.github.io/minisign/): a public key is the line
// after "untrusted comment: ..." holding base64("Ed" || key id (8) ||
// Ed25519 public key (32)); a signature file holds "untrusted comment: ...",
// base64(alg (2: "Ed" legacy, "ED" prehashed) || key id (8) || signature (64)),
// "trusted comment: <text>", base64(global signature (64) of signature ||
// <text>). "ED" signs BLAKE2b-512 of the file; "Ed" signs the file itself.

struct MinisignKey {
  std::array<unsigned char, 8> key_id{};
  std::array<unsigned char, 32> public_key{};
  std::filesystem::path file;  // where it was read from (may be empty)
};

struct MinisignSignature {
  bool prehashed = false;  // "ED"
  std::array<unsigned char, 8> key_id{};
  std::array<unsigned char, 64> signature{};
  std::string trusted_comment;
  std::array<unsigned char, 64> global_signature{};
};

// Key id as minisign prints it: 16 upper-case hex digits (little-endian u64).
std::string key_id_hex(const std::array<unsigned char, 8>& id);

Result<MinisignKey> parse_minisign_public_key(std::string_view text, const std::filesystem::path& file);
Result<MinisignSignature> parse_minisign_signature(std::string_view text, const std::filesystem::path& file);

// Every "*.pub" of `dir`, sorted by name. A key file that cannot be parsed or
// is not trusted by insecure_reason (unless allow_insecure) goes into
// `problems` ("<file>: <why>") and is skipped.
std::vector<MinisignKey> load_trusted_keys(const std::filesystem::path& dir, bool allow_insecure,
                                           std::vector<std::string>* problems);

// Check `data` (the library's bytes) against `sig` and the trusted `keys`:
// empty when good, else why not.
std::string verify_minisign(std::string_view data, const MinisignSignature& sig,
                            const std::vector<MinisignKey>& keys, const std::filesystem::path& keys_dir);

}  // namespace plinth
