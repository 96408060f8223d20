//! Network methods.

use super::Kind::*;
use super::{MethodSpec, method, opt, req};

pub const METHODS: &[MethodSpec] = &[
    method(
        "Network",
        "addnode",
        &[
            req("node", Str, "The peer: a multiaddr, or host:port"),
            req(
                "command",
                Str,
                "'add' to add a node to the list, 'remove' to remove it, 'onetry' to try a connection once",
            ),
        ],
        "Attempts to add or remove a node from the addnode list, or to try a connection to a node once.",
        "null",
        "[\"/ip4/192.168.0.6/tcp/18444\", \"onetry\"]",
    ),
    method("Network", "clearbanned", &[], "Clear all banned peers.", "null", "[]"),
    method(
        "Network",
        "disconnectnode",
        &[
            opt("address", Str, "fallback to nodeid", "The peer id or multiaddr of the peer"),
            opt("nodeid", Num, "fallback to address", "The node id (see getpeerinfo)"),
        ],
        "Immediately disconnects from the specified peer. Give the address or the nodeid, not both.",
        "null",
        "[\"/ip4/192.168.0.6/tcp/18444\"]",
    ),
    method(
        "Network",
        "getaddednodeinfo",
        &[opt(
            "node",
            Str,
            "all nodes",
            "If provided, return information about this specific node",
        )],
        "Returns information about the given added node, or all added nodes.",
        "[ { \"addednode\", \"connected\", \"addresses\": [ { \"address\", \"connected\": \"inbound\"|\"outbound\" } ] }, ... ]",
        "[]",
    ),
    method(
        "Network",
        "getconnectioncount",
        &[],
        "Returns the number of connections to other nodes.",
        "n    (numeric) the connection count",
        "[]",
    ),
    method(
        "Network",
        "getnettotals",
        &[],
        "Returns information about network traffic, including bytes in, bytes out, and current system time.",
        "{ \"totalbytesrecv\", \"totalbytessent\", \"timemillis\", \"uploadtarget\": { \"timeframe\", \"target\", \"target_reached\", \"serve_historical_blocks\", \"bytes_left_in_cycle\", \"time_left_in_cycle\" } }",
        "[]",
    ),
    method(
        "Network",
        "getnetworkinfo",
        &[],
        "Returns an object containing various state info regarding P2P networking.",
        "{ \"version\", \"subversion\", \"protocolversion\", \"localservices\", \"localservicesnames\", \"localrelay\", \"timeoffset\", \"connections\", \"connections_in\", \"connections_out\", \"networkactive\", \"networks\", \"relayfee\", \"incrementalfee\", \"localaddresses\", \"warnings\" }",
        "[]",
    ),
    method(
        "Network",
        "getpeerinfo",
        &[],
        "Returns data about each connected network peer.",
        "[ { \"id\", \"addr\", \"network\", \"services\", \"lastsend\", \"lastrecv\", \"bytessent\", \"bytesrecv\", \"conntime\", \"timeoffset\", \"pingtime\", \"version\", \"subver\", \"inbound\", \"connection_type\", \"startingheight\", \"synced_headers\", \"synced_blocks\", ... }, ... ]",
        "[]",
    ),
    method(
        "Network",
        "listbanned",
        &[],
        "List all banned peers (by peer id).",
        "[ { \"address\", \"ban_created\", \"banned_until\", \"ban_duration\", \"time_remaining\" }, ... ]",
        "[]",
    ),
    method(
        "Network",
        "ping",
        &[],
        "Requests that a ping be sent to all other nodes, to measure ping time. Cairn's peers are pinged every 10 s anyway (libp2p ping); results in getpeerinfo's pingtime.",
        "null",
        "[]",
    ),
    method(
        "Network",
        "setnetworkactive",
        &[req("state", Bool, "true to enable networking, false to disable")],
        "Disable/enable all p2p network activity: off disconnects every peer, dials nobody and closes connections as they open.",
        "true|false    (boolean) the value that was passed in",
        "[false]",
    ),
    method(
        "Network",
        "setban",
        &[
            req(
                "subnet",
                Str,
                "The IP/Subnet (see getpeerinfo for nodes IP) with an optional netmask (default is /32 = single IP), or a peer id",
            ),
            req(
                "command",
                Str,
                "'add' to add an IP/Subnet or peer id to the list, 'remove' to remove it",
            ),
            opt(
                "bantime",
                Num,
                "86400",
                "Seconds the peer is banned (or, with absolute, the Unix time the ban ends)",
            ),
            opt("absolute", Bool, "false", "If set, bantime is an absolute Unix time"),
        ],
        "Attempts to add or remove an IP/Subnet or a peer id from the banned list.",
        "null",
        "[\"192.168.0.6\", \"add\", 86400]",
    ),
];
