//! Blockchain methods.

use super::Kind::*;
use super::{MethodSpec, method, opt, req};

const HASH: &str = r#"["0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206"]"#;

pub const METHODS: &[MethodSpec] = &[
    method(
        "Blockchain",
        "getbestblockhash",
        &[],
        "Returns the hash of the best (tip) block in the most-work fully-validated chain.",
        "\"hex\"    (string) the block hash, hex-encoded",
        "[]",
    ),
    method(
        "Blockchain",
        "getblock",
        &[
            req("blockhash", Hex, "The block hash"),
            opt(
                "verbosity",
                Any,
                "1",
                "0 for hex-encoded data, 1 for a JSON object, 2 for a JSON object with transaction data (a boolean is taken as 0 or 1)",
            ),
        ],
        "Returns a block: verbosity 0 hex, 1 (default) with txids, 2 with decoded transactions and fees.",
        "verbosity 0: \"hex\" (string) the serialized block\nverbosity 1: { \"hash\", \"confirmations\", \"size\", \"strippedsize\", \"weight\", \"height\", \"version\", \"versionHex\", \"merkleroot\", \"tx\": [\"txid\",...], \"time\", \"mediantime\", \"nonce\", \"bits\", \"difficulty\", \"chainwork\", \"nTx\", \"previousblockhash\", \"nextblockhash\" }\nverbosity 2: as 1, with \"tx\" holding decoded transactions (as getrawtransaction) and their \"fee\"",
        r#"["0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206", 1]"#,
    ),
    method(
        "Blockchain",
        "getblockchaininfo",
        &[],
        "Returns an object containing various state info regarding blockchain processing.",
        "{ \"chain\", \"blocks\", \"headers\", \"bestblockhash\", \"difficulty\", \"time\", \"mediantime\", \"verificationprogress\", \"initialblockdownload\", \"chainwork\", \"size_on_disk\", \"pruned\", \"warnings\" }",
        "[]",
    ),
    method(
        "Blockchain",
        "getblockcount",
        &[],
        "Returns the height of the most-work fully-validated chain. The genesis block has height 0.",
        "n    (numeric) the current block count",
        "[]",
    ),
    method(
        "Blockchain",
        "getblockhash",
        &[req("height", Num, "The height index")],
        "Returns hash of block in best-block-chain at height provided.",
        "\"hex\"    (string) the block hash",
        "[1000]",
    ),
    method(
        "Blockchain",
        "getblockheader",
        &[
            req("blockhash", Hex, "The block hash"),
            opt("verbose", Bool, "true", "true for a JSON object, false for the hex-encoded data"),
        ],
        "Returns the block header: decoded (verbose=true, default) or as hex.",
        "verbose true: { \"hash\", \"confirmations\", \"height\", \"version\", \"versionHex\", \"merkleroot\", \"time\", \"mediantime\", \"nonce\", \"bits\", \"difficulty\", \"chainwork\", \"nTx\", \"previousblockhash\", \"nextblockhash\" }\nverbose false: \"hex\" (string) the serialized header",
        HASH,
    ),
    method(
        "Blockchain",
        "getchaintips",
        &[],
        "Return information about all known tips in the block tree, including the main chain as well as orphaned branches.",
        "[ { \"height\", \"hash\", \"branchlen\" (0 for the main chain), \"status\": \"active\"|\"valid-fork\"|\"valid-headers\"|\"headers-only\"|\"invalid\" }, ... ]",
        "[]",
    ),
    method(
        "Blockchain",
        "getdifficulty",
        &[],
        "Returns the proof-of-work difficulty as a multiple of the minimum difficulty.",
        "n.nnn    (numeric) the difficulty",
        "[]",
    ),
    method(
        "Blockchain",
        "getmempoolinfo",
        &[],
        "Returns details on the active state of the transaction memory pool.",
        "{ \"loaded\", \"size\", \"bytes\", \"usage\", \"total_fee\", \"maxmempool\", \"mempoolminfee\", \"minrelaytxfee\", \"incrementalrelayfee\", \"unbroadcastcount\", \"fullrbf\" }",
        "[]",
    ),
    method(
        "Blockchain",
        "getrawmempool",
        &[opt(
            "verbose",
            Bool,
            "false",
            "true for an object per transaction, false for an array of txids",
        )],
        "Returns all transaction ids in memory pool, or an object per transaction when verbose.",
        "verbose false: [ \"txid\", ... ]\nverbose true: { \"txid\": { \"vsize\", \"weight\", \"time\", \"height\", \"fees\": { \"base\", ... }, \"depends\", ... }, ... }",
        "[true]",
    ),
    method(
        "Blockchain",
        "gettxout",
        &[
            req("txid", Hex, "The transaction id"),
            req("n", Num, "vout number"),
            opt(
                "include_mempool",
                Bool,
                "true",
                "Whether to include the mempool (an output spent in the mempool is then not returned)",
            ),
        ],
        "Returns details about an unspent transaction output, or null.",
        "null, or { \"bestblock\", \"confirmations\", \"value\", \"scriptPubKey\": { \"asm\", \"hex\", \"type\", \"address\" }, \"coinbase\" }",
        r#"["4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b", 0]"#,
    ),
    method(
        "Blockchain",
        "gettxoutsetinfo",
        &[opt(
            "hash_type",
            Str,
            "hash_serialized_3",
            "Which UTXO set hash to calculate: hash_serialized_3 or none",
        )],
        "Returns statistics about the unspent transaction output set, with its digest.",
        "{ \"height\", \"bestblock\", \"txouts\", \"bogosize\", \"hash_serialized_3\", \"total_amount\", \"transactions\", \"disk_size\" }",
        "[]",
    ),
];
