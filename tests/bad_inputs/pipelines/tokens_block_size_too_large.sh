# Writes data/shard.bin: a valid llm.c token shard of 8 tokens.
. "$(dirname "$0")/tokens_data.bash"
llm_c_shard 20240520 1 8 1 2 3 4 5 6 7 8 > "$1/shard.bin"
