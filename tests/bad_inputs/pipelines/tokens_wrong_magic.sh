# Writes data/shard.bin: an llm.c token shard whose header has the wrong magic.
. "$(dirname "$0")/tokens_data.bash"
llm_c_shard 20240521 1 8 1 2 3 4 5 6 7 8 > "$1/shard.bin"
