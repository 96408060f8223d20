//! Raw transaction methods.

use super::Kind::*;
use super::{MethodSpec, method, opt, req};

const TX_HEX: &str = r#"["0200000001..."]"#;

pub const METHODS: &[MethodSpec] = &[
    method(
        "Rawtransactions",
        "createrawtransaction",
        &[
            req("inputs", Arr, "[{\"txid\":\"hex\",\"vout\":n},...]: the outputs to spend"),
            req(
                "outputs",
                Any,
                "[{\"address\":amount},...] (vout numbers in array order) or {\"address\":amount,...} (in key order)",
            ),
            opt("locktime", Num, "0", "Raw locktime"),
        ],
        "Create an unsigned transaction spending the given inputs and paying the given outputs; returns hex.",
        "\"hex\"    (string) hex string of the transaction",
        r#"[[{"txid":"4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b","vout":0}], [{"mxwfXsaTpcZ7Tk6Jv2vnuAmA8T2U1HTYkS":0.01}]]"#,
    ),
    method(
        "Rawtransactions",
        "decoderawtransaction",
        &[req("hexstring", Hex, "The transaction hex string")],
        "Return a JSON object representing the serialized, hex-encoded transaction.",
        "{ \"txid\", \"hash\", \"size\", \"vsize\", \"weight\", \"version\", \"locktime\", \"vin\": [...], \"vout\": [...] }",
        TX_HEX,
    ),
    method(
        "Rawtransactions",
        "getrawtransaction",
        &[
            req("txid", Hex, "The transaction id"),
            opt("verbosity|verbose", Any, "0", "0 (or false) for hex, 1 (or true) for a JSON object"),
            opt("blockhash", Hex, "", "The block in which to look for the transaction"),
        ],
        "Return a mempool transaction, or one from the given block.",
        "verbose 0: \"hex\" (string)\nverbose 1: { \"in_active_chain\", \"hex\", \"txid\", \"hash\", \"size\", \"vsize\", \"weight\", \"version\", \"locktime\", \"vin\", \"vout\", \"blockhash\", \"confirmations\", \"blocktime\", \"time\" }",
        r#"["4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b", 1]"#,
    ),
    method(
        "Rawtransactions",
        "testmempoolaccept",
        &[
            req(
                "rawtxs",
                Arr,
                "An array of hex strings of raw transactions (1 to 25). Each is tested alone against the chain and the mempool: one spending another of the list reports its inputs missing (Core tests several as a package).",
            ),
            opt(
                "maxfeerate",
                Amount,
                "0.10",
                "Reject transactions whose fee rate is higher than this, in coins/kvB (0 accepts any)",
            ),
        ],
        "Returns result of mempool acceptance tests indicating if raw transactions would be accepted by mempool. Nothing is added to the mempool or relayed.",
        "[ { \"txid\", \"wtxid\", \"allowed\", \"vsize\", \"fees\": { \"base\", \"effective-feerate\", \"effective-includes\" }, \"reject-reason\", \"reject-details\" }, ... ]",
        r#"[["0200000001..."]]"#,
    ),
    method(
        "Rawtransactions",
        "sendrawtransaction",
        &[
            req("hexstring", Hex, "The hex string of the signed transaction"),
            opt(
                "maxfeerate",
                Amount,
                "0.10",
                "Reject transactions whose fee rate is higher than this, in coins/kvB (0 accepts any)",
            ),
        ],
        "Submit a raw transaction (serialized, hex-encoded) to the local node and network.",
        "\"hex\"    (string) the transaction hash in hex",
        TX_HEX,
    ),
    method(
        "Rawtransactions",
        "fundrawtransaction",
        &[
            req(
                "hexstring",
                Hex,
                "The hex string of the raw transaction (outputs only: Cairn funds transactions without inputs)",
            ),
            opt(
                "options",
                Any,
                "",
                "{ \"add_inputs\": true, \"changeAddress\", \"changePosition\", \"lockUnspents\", \"fee_rate\" (sat/vB), \"feeRate\" (coins/kvB), \"subtractFeeFromOutputs\": [vout, ...], \"includeWatching\", \"replaceable\", \"conf_target\", \"estimate_mode\" } (a bare boolean: the old includeWatching)",
            ),
            opt("iswitness", Bool, "", "Accepted for compatibility (no witness data)"),
        ],
        "If the transaction has no inputs, they will be automatically selected to meet its out value. It will add at most one change output to the outputs. No existing outputs will be modified unless \"subtractFeeFromOutputs\" is specified. The inputs added are not signed: use signrawtransactionwithwallet.",
        "{ \"hex\", \"fee\", \"changepos\" (-1 for no change) }",
        r#"["0100000000010000000000000000..."]"#,
    ),
];
