# Writes data/text.txt: a small text for a character model.
for _ in $(seq 50); do printf 'the quick brown fox '; done > "$1/text.txt"
