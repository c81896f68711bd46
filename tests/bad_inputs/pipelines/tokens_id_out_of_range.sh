# Writes data/shard.bin: a valid llm.c token shard whose 6th token (id 16,
# byte offset 1024 + 2 * 5 = 1034) is not below the pipeline's vocab_size 16.
. "$(dirname "$0")/tokens_data.bash"
llm_c_shard 20240520 1 8 1 2 3 4 5 16 7 8 > "$1/shard.bin"
