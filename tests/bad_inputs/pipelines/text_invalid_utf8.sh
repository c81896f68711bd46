# Writes data/input.txt: text with a Latin-1 byte (0xe9, "é") at byte offset 9.
printf 'Hello caf\351 world\n' > "$1/input.txt"
