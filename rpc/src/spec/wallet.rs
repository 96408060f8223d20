//! Wallet methods (and `validateaddress`, Core's Util).

use super::Kind::*;
use super::{MethodSpec, method, opt, req};

const ADDRESS: &str = r#"["mxwfXsaTpcZ7Tk6Jv2vnuAmA8T2U1HTYkS"]"#;

pub const METHODS: &[MethodSpec] = &[
    method(
        "Util",
        "estimatesmartfee",
        &[
            req("conf_target", Num, "Confirmation target in blocks (1 - 1008)"),
            opt(
                "estimate_mode",
                Str,
                "\"economical\"",
                "unset, economical (85% of transactions at the rate confirmed in time) or conservative (95%)",
            ),
        ],
        "Estimates the approximate fee per kilobyte needed for a transaction to begin confirmation within conf_target blocks, from how long transactions this node saw in its mempool waited to be mined (in memory: a restarted node learns again).",
        "{ \"feerate\" (coins/kvB, if found), \"errors\" (if none found), \"blocks\" (the target the estimate was found for) }",
        "[6]",
    ),
    method(
        "Util",
        "validateaddress",
        &[req("address", Str, "The address to validate")],
        "Return information about the given address.",
        "{ \"isvalid\", \"address\", \"scriptPubKey\", \"isscript\", \"iswitness\" } (an invalid address: { \"isvalid\": false, \"error\" })",
        ADDRESS,
    ),
    method(
        "Wallet",
        "getbalance",
        &[
            opt(
                "dummy",
                Str,
                "",
                "Remains for backward compatibility. Must be excluded or set to \"*\"",
            ),
            opt("minconf", Num, "0", "Only include transactions confirmed at least this many times"),
            opt(
                "include_watchonly",
                Bool,
                "false",
                "Accepted for compatibility (the wallet has no watch-only addresses)",
            ),
            opt("avoid_reuse", Bool, "true", "Accepted for compatibility"),
        ],
        "Returns the total available balance.",
        "n    (numeric) the total amount received by this wallet",
        "[]",
    ),
    method(
        "Wallet",
        "getbalances",
        &[],
        "Returns an object with all balances in coins.",
        "{ \"mine\": { \"trusted\", \"untrusted_pending\", \"immature\" } }",
        "[]",
    ),
    method(
        "Wallet",
        "getnewaddress",
        &[
            opt("label", Str, "\"\"", "The label name for the address to be linked to"),
            opt("address_type", Str, "\"legacy\"", "The address type (Cairn has one: legacy)"),
        ],
        "Returns a new address for receiving payments.",
        "\"str\"    (string) the new address",
        "[]",
    ),
    method(
        "Wallet",
        "gettransaction",
        &[
            req("txid", Hex, "The transaction id"),
            opt("include_watchonly", Bool, "false", "Accepted for compatibility"),
            opt(
                "verbose",
                Bool,
                "false",
                "Whether to include a decoded field containing the decoded transaction",
            ),
        ],
        "Get detailed information about an in-wallet transaction.",
        "{ \"amount\", \"fee\", \"confirmations\", \"blockhash\", \"blockheight\", \"blockindex\", \"blocktime\", \"txid\", \"time\", \"timereceived\", \"bip125-replaceable\", \"details\": [ { \"address\", \"category\", \"amount\", \"vout\", \"fee\" }, ... ], \"hex\", \"decoded\" (verbose only) }",
        r#"["4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b"]"#,
    ),
    method(
        "Wallet",
        "listtransactions",
        &[
            opt("label", Str, "\"*\"", "Accepted for compatibility: \"*\" (all)"),
            opt("count", Num, "10", "The number of transactions to return"),
            opt("skip", Num, "0", "The number of transactions to skip"),
            opt("include_watchonly", Bool, "false", "Accepted for compatibility"),
        ],
        "Returns up to 'count' most recent transactions skipping the first 'skip'.",
        "[ { \"address\", \"category\", \"amount\", \"vout\", \"fee\", \"confirmations\", \"blockhash\", \"blockheight\", \"blocktime\", \"txid\", \"time\", \"timereceived\", \"bip125-replaceable\" }, ... ]",
        "[\"*\", 20, 100]",
    ),
    method(
        "Wallet",
        "listunspent",
        &[
            opt("minconf", Num, "1", "The minimum confirmations to filter"),
            opt("maxconf", Num, "9999999", "The maximum confirmations to filter"),
            opt("addresses", Arr, "[]", "The addresses to filter"),
            opt("include_unsafe", Bool, "true", "Include outputs that are not safe to spend"),
        ],
        "Returns array of unspent transaction outputs with between minconf and maxconf (inclusive) confirmations.",
        "[ { \"txid\", \"vout\", \"address\", \"label\", \"scriptPubKey\", \"amount\", \"confirmations\", \"spendable\", \"solvable\", \"safe\" }, ... ]",
        "[6, 9999999]",
    ),
    method(
        "Wallet",
        "sendtoaddress",
        &[
            req("address", Str, "The address to send to"),
            req("amount", Amount, "The amount in coins to send, e.g. 0.1"),
            opt("comment", Str, "", "Accepted, not stored"),
            opt("comment_to", Str, "", "Accepted, not stored"),
            opt(
                "subtractfeefromamount",
                Bool,
                "false",
                "The fee will be deducted from the amount being sent",
            ),
            opt(
                "replaceable",
                Bool,
                "true",
                "Signal that this transaction can be replaced (BIP 125)",
            ),
            opt("conf_target", Num, "", "Confirmation target in blocks"),
            opt(
                "estimate_mode",
                Str,
                "\"unset\"",
                "The fee estimate mode: unset, economical or conservative",
            ),
            opt("avoid_reuse", Bool, "true", "Accepted for compatibility"),
            opt("fee_rate", Amount, "not set", "Fee rate in sat/vB"),
        ],
        "Send an amount to a given address; returns the txid.",
        "\"hex\"    (string) the transaction id",
        r#"["mxwfXsaTpcZ7Tk6Jv2vnuAmA8T2U1HTYkS", 0.1]"#,
    ),
    method(
        "Wallet",
        "signrawtransactionwithwallet",
        &[req("hexstring", Hex, "The transaction hex string")],
        "Sign inputs for a raw transaction (serialized, hex-encoded) with this wallet's keys.",
        "{ \"hex\", \"complete\", \"errors\": [ { \"txid\", \"vout\", \"scriptSig\", \"sequence\", \"error\" }, ... ] }",
        r#"["0200000001..."]"#,
    ),
];
