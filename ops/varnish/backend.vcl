# The proxy (artifact-proxy serve). Several nodes: one backend each plus a directors.round_robin().
backend default {
    .host = "127.0.0.1";
    .port = "8080";
    .connect_timeout = 2s;
    .first_byte_timeout = 30s;  # a compile on a miss
    .between_bytes_timeout = 10s;
}
