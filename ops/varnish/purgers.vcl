# Who may BAN and PURGE: the proxy nodes (PROXY_EDGE_PURGE=varnish://this-host:port) and operators.
acl purgers {
    "127.0.0.1";
    "::1";
}
