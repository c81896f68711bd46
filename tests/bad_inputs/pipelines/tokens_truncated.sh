# Writes data/shard.bin: an llm.c token shard whose header counts 100 tokens
# but which holds only 8 (1024 + 16 bytes instead of 1024 + 200).
. "$(dirname "$0")/tokens_data.bash"
llm_c_shard 20240520 1 100 1 2 3 4 5 6 7 8 > "$1/shard.bin"
