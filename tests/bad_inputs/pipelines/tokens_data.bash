# tokens_data.bash — shared by the tokens_*.sh data writers of the bad-input
# pipelines: llm_c_shard MAGIC VERSION COUNT TOKENS... prints an llm.c token
# shard (256 little-endian int32 header, then uint16 little-endian tokens).
le32() { printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $(($1 & 255)) $((($1 >> 8) & 255)) $((($1 >> 16) & 255)) $((($1 >> 24) & 255)))"; }
le16() { printf "$(printf '\\%03o\\%03o' $(($1 & 255)) $((($1 >> 8) & 255)))"; }
llm_c_shard() {
  le32 "$1"; le32 "$2"; le32 "$3"
  head -c $((1024 - 12)) /dev/zero
  shift 3
  local t
  for t in "$@"; do le16 "$t"; done
}
