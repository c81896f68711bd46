// main.cpp — placeholder entry point; replaced by the CLI implementation.
int main() { return 0; }
