# artifact-proxy behind Varnish 7 (the production edge; tests/edge starts exactly this file).
#
# - Immutable artifacts (/components/<hash>.js, the runtime) are cached as the origin says: a year.
# - Pointers (GET /api/components/<id>, GET /api/projects/<id>/components) are cached for the TTL the
#   origin gives this edge alone in Surrogate-Control (PROXY_EDGE_MAX_STALE_SECONDS), and dropped at
#   once by a BAN on their Surrogate-Key when a scene changes (PROXY_EDGE_PURGE=varnish://host:port).
#   Browsers still get `Cache-Control: no-cache` and revalidate every view against this cache.
# - Anything else under /api/ (errors, error modules, metadata, writes) is never stored.
# - BAN (by surrogate key) and PURGE (by URL) are accepted only from the `purgers` ACL.
#
# backend.vcl defines `backend default` (the proxy), purgers.vcl `acl purgers`: edit those two.
vcl 4.1;

import std;

include "./backend.vcl";
include "./purgers.vcl";

sub vcl_recv {
    if (req.method == "BAN") {
        if (client.ip !~ purgers) {
            return (synth(403, "Purges are not allowed from this address"));
        }
        # keys are [a-z0-9-]: nothing in them can break out of the regular expression below
        if (req.http.X-Purge-Keys !~ "^[a-z0-9-]{1,64}( [a-z0-9-]{1,64})*$") {
            return (synth(400, "X-Purge-Keys: space-separated surrogate keys"));
        }
        # (unquoted: the expression has no spaces, and the ban parser would read quotes itself)
        if (std.ban("obj.http.Surrogate-Key ~ (^|[[:space:]])(" +
                    regsuball(req.http.X-Purge-Keys, " ", "|") + ")([[:space:]]|$)")) {
            return (synth(200, "Banned"));
        }
        return (synth(500, "Ban failed: " + std.ban_error()));
    }
    if (req.method == "PURGE") {
        if (client.ip !~ purgers) {
            return (synth(403, "Purges are not allowed from this address"));
        }
        return (purge);
    }
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    if (req.url ~ "^/(components|runtime)/" ||
        req.url ~ "^/api/components/[^/?]+(\?.*)?$" ||
        req.url ~ "^/api/projects/[^/?]+/components(\?.*)?$") {
        if (req.http.Authorization) {
            return (pass);
        }
        unset req.http.Cookie;  # no answer here depends on cookies
        # Varnish would fetch gzip and gunzip it for clients without gzip, weakening the strong
        # ETag: those clients get an object of their own (vcl_hash), fetched without gzip
        # (immutable artifacts only: a pointer stays one object per URL, so PURGE <url> drops it)
        if (req.url !~ "^/api/") {
            if (req.http.Accept-Encoding ~ "(?i)gzip") {
                set req.http.X-Client-Gzip = "1";
            } else {
                set req.http.X-Client-Gzip = "0";
            }
        }
        return (hash);
    }
    if (req.url ~ "^/api/") {
        return (pass);
    }
}

sub vcl_hash {
    if (req.http.X-Client-Gzip) {
        hash_data(req.http.X-Client-Gzip);
    }
}

sub vcl_backend_fetch {
    if (bereq.http.X-Client-Gzip == "0") {
        unset bereq.http.Accept-Encoding;
    }
    unset bereq.http.X-Client-Gzip;
}

sub vcl_backend_response {
    if (bereq.url ~ "^/api/") {
        # a pointer: cacheable only when the origin tagged it and gave this edge its TTL
        if ((beresp.status == 200 || beresp.status == 302) && beresp.http.Surrogate-Key &&
            beresp.http.Surrogate-Control ~ "max-age=[0-9]+") {
            set beresp.ttl = std.duration(
                regsub(beresp.http.Surrogate-Control, "^.*max-age=([0-9]+).*$", "\1") + "s", 0s);
            set beresp.grace = 0s;  # the TTL is the whole bound on a pointer whose purge was lost
            set beresp.keep = 0s;
            unset beresp.http.Surrogate-Control;
            return (deliver);
        }
        # errors, error modules, transient fallbacks: never stored, never coalesced
        set beresp.ttl = 0s;
        set beresp.grace = 0s;
        set beresp.uncacheable = true;
        return (deliver);
    }
}

sub vcl_deliver {
    # the keys and edge TTL are for this cache only
    unset resp.http.Surrogate-Key;
    unset resp.http.Cache-Tag;
    unset resp.http.Cloudflare-CDN-Cache-Control;
    if (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
}
