//! Mining methods.

use super::Kind::*;
use super::{MethodSpec, method, opt, req};

pub const METHODS: &[MethodSpec] = &[
    method(
        "Generating",
        "generatetoaddress",
        &[
            req("nblocks", Num, "How many blocks are generated"),
            req("address", Str, "The address to send the newly generated coins to"),
            opt("maxtries", Num, "1000000", "How many nonces to try per block"),
        ],
        "Mine blocks immediately to a specified address (before the RPC call returns); returns their hashes.",
        "[ \"hex\", ... ]    (json array) hashes of blocks generated",
        "[11, \"mxwfXsaTpcZ7Tk6Jv2vnuAmA8T2U1HTYkS\"]",
    ),
    method(
        "Generating",
        "generateblock",
        &[
            req("output", Str, "The address to send the newly generated coins to"),
            req(
                "transactions",
                Arr,
                "[\"rawtx/txid\",...]: transactions to include, in order: txids of mempool transactions or raw transactions in hex",
            ),
            opt(
                "submit",
                Bool,
                "true",
                "Whether to submit the block before the RPC call returns or to return it as hex",
            ),
        ],
        "Mine a set of ordered transactions to a specified address immediately (before the RPC call returns).",
        "{ \"hash\", \"hex\" (if submit=false) }",
        r#"["mxwfXsaTpcZ7Tk6Jv2vnuAmA8T2U1HTYkS", []]"#,
    ),
    method(
        "Generating",
        "getgenerate",
        &[],
        "Return if the node is set to mine coins continuously (as Bitcoin Core up to 0.12).",
        "true|false    (boolean)",
        "[]",
    ),
    method(
        "Generating",
        "setgenerate",
        &[
            req("generate", Bool, "true to turn mining on, false to turn it off"),
            opt("genproclimit", Num, "1", "Threads to mine on, -1 for one per core"),
        ],
        "Turn continuous mining on or off, paying to --mine-to or a fresh wallet address (as Bitcoin Core up to 0.12).",
        "null",
        "[true, 1]",
    ),
    method(
        "Mining",
        "getblocktemplate",
        &[opt(
            "template_request",
            Obj,
            "{}",
            "{\"mode\": \"template\", \"rules\": [...], \"longpollid\": \"id\"}: only template mode; rules are accepted and not needed (no segwit, no version bits); with longpollid, waits up to 60 s for a new tip or new transactions",
        )],
        "Returns data needed to construct a block to work on (BIP 22/23). Cairn: weight is 4 x size, sigops count signature checks (one per input), no witness commitment.",
        "{ \"capabilities\", \"version\", \"rules\", \"vbavailable\", \"vbrequired\", \"previousblockhash\", \"transactions\": [ { \"data\", \"txid\", \"hash\", \"depends\", \"fee\", \"sigops\", \"weight\" }, ... ], \"coinbaseaux\", \"coinbasevalue\", \"longpollid\", \"target\", \"mintime\", \"mutable\", \"noncerange\", \"sigoplimit\", \"sizelimit\", \"weightlimit\", \"curtime\", \"bits\", \"height\" }",
        r#"[{"rules": ["segwit"]}]"#,
    ),
    method(
        "Mining",
        "getmininginfo",
        &[],
        "Returns a json object containing mining-related information.",
        "{ \"blocks\", \"currentblockweight\", \"currentblocktx\", \"bits\", \"difficulty\", \"target\", \"networkhashps\", \"pooledtx\", \"chain\", \"warnings\" }",
        "[]",
    ),
    method(
        "Mining",
        "getnetworkhashps",
        &[
            opt(
                "nblocks",
                Num,
                "120",
                "The number of previous blocks to calculate estimate from, or -1 for blocks since the last 2016-block boundary",
            ),
            opt("height", Num, "-1", "To estimate at the time of the given height"),
        ],
        "Returns the estimated network hashes per second based on the last n blocks.",
        "x    (numeric) hashes per second estimated",
        "[]",
    ),
    method(
        "Mining",
        "prioritisetransaction",
        &[
            req("txid", Hex, "The transaction id"),
            opt("dummy", Num, "null", "API-Compatibility for previous API. Must be zero or null."),
            req(
                "fee_delta",
                Num,
                "The fee value (in base units) to add (or subtract, if negative). The fee is not actually paid, only the rank by which the transaction is mined and evicted changes.",
            ),
        ],
        "Accepts the transaction into mined blocks at a higher (or lower) priority.",
        "true|false    (boolean) returns true",
        r#"["4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b", 0, 10000]"#,
    ),
    method(
        "Mining",
        "submitblock",
        &[
            req("hexdata", Hex, "the hex-encoded block data to submit"),
            opt(
                "dummy",
                Str,
                "ignored",
                "dummy value, for compatibility with BIP22. This value is ignored.",
            ),
        ],
        "Attempts to submit new block to network.",
        "null if accepted, else a string: \"duplicate\", \"inconclusive\" (parent unknown, or less work than the tip) or the reason it was rejected (\"high-hash\", \"bad-txnmrklroot\", ...)",
        r#"["0100000000..."]"#,
    ),
];
