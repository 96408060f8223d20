//! Blockchain methods.

use super::Kind::*;
use super::{MethodSpec, method, opt, req};

const TXID: &str = r#"["4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b"]"#;
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
                "verbosity|verbose",
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
        "getblockstats",
        &[
            req("hash_or_height", Any, "The block hash or height of the target block"),
            opt("stats", Arr, "all values", "Values to plot (see result below)"),
        ],
        "Compute per block statistics for a given window. All amounts are in base units (1e-8 coin), fee rates in base units per virtual byte. Cairn has no segregated witness: the sw* values are 0 and weight is 4 x size.",
        "{ \"avgfee\", \"avgfeerate\", \"avgtxsize\", \"blockhash\", \"feerate_percentiles\": [10th, 25th, 50th, 75th, 90th], \"height\", \"ins\", \"maxfee\", \"maxfeerate\", \"maxtxsize\", \"medianfee\", \"mediantime\", \"mediantxsize\", \"minfee\", \"minfeerate\", \"mintxsize\", \"outs\", \"subsidy\", \"swtotal_size\", \"swtotal_weight\", \"swtxs\", \"time\", \"total_out\", \"total_size\", \"total_weight\", \"totalfee\", \"txs\", \"utxo_increase\", \"utxo_size_inc\", \"utxo_increase_actual\", \"utxo_size_inc_actual\" }",
        r#"[1000, ["minfeerate", "avgfeerate"]]"#,
    ),
    method(
        "Blockchain",
        "getchaintxstats",
        &[
            opt("nblocks", Num, "one month", "Size of the window in number of blocks"),
            opt("blockhash", Hex, "chain tip", "The hash of the block that ends the window"),
        ],
        "Compute statistics about the total number and rate of transactions in the chain.",
        "{ \"time\", \"txcount\", \"window_final_block_hash\", \"window_final_block_height\", \"window_block_count\", \"window_tx_count\", \"window_interval\", \"txrate\" }",
        "[2016]",
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
        "getindexinfo",
        &[opt("index_name", Str, "", "Filter results for an index with a specific name")],
        "Returns the status of one or all available indices currently running in the node. Cairn keeps none: always {}.",
        "{ \"name\": { \"synced\", \"best_block_height\" }, ... }",
        "[]",
    ),
    method(
        "Blockchain",
        "getmempoolancestors",
        &[
            req("txid", Hex, "The transaction id (must be in mempool)"),
            opt(
                "verbose",
                Bool,
                "false",
                "True for a json object, false for array of transaction ids",
            ),
        ],
        "If txid is in the mempool, returns all in-mempool ancestors.",
        "verbose false: [ \"txid\", ... ]\nverbose true: { \"txid\": entry (as getmempoolentry), ... }",
        TXID,
    ),
    method(
        "Blockchain",
        "getmempooldescendants",
        &[
            req("txid", Hex, "The transaction id (must be in mempool)"),
            opt(
                "verbose",
                Bool,
                "false",
                "True for a json object, false for array of transaction ids",
            ),
        ],
        "If txid is in the mempool, returns all in-mempool descendants.",
        "verbose false: [ \"txid\", ... ]\nverbose true: { \"txid\": entry (as getmempoolentry), ... }",
        TXID,
    ),
    method(
        "Blockchain",
        "getmempoolentry",
        &[req("txid", Hex, "The transaction id (must be in mempool)")],
        "Returns mempool data for given transaction.",
        "{ \"vsize\", \"weight\", \"time\", \"height\", \"descendantcount\", \"descendantsize\", \"ancestorcount\", \"ancestorsize\", \"wtxid\", \"fees\": { \"base\", \"modified\", \"ancestor\", \"descendant\" }, \"depends\": [...], \"spentby\": [...], \"bip125-replaceable\" (always false: nothing is replaced), \"unbroadcast\" }",
        TXID,
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
        &[
            opt(
                "verbose",
                Bool,
                "false",
                "true for an object per transaction, false for an array of txids",
            ),
            opt(
                "mempool_sequence",
                Bool,
                "false",
                "If verbose=false, returns a json object with transaction list and mempool sequence number attached",
            ),
        ],
        "Returns all transaction ids in memory pool, or an object per transaction when verbose.",
        "verbose false: [ \"txid\", ... ]\nverbose true: { \"txid\": entry (as getmempoolentry), ... }\nmempool_sequence true: { \"txids\": [ \"txid\", ... ], \"mempool_sequence\" (transactions that entered or left the pool, ever) }",
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
        &[
            opt(
                "hash_type",
                Str,
                "hash_serialized_3",
                "Which UTXO set hash to calculate: hash_serialized_3 (SHA-256 over every coin in key order) or none",
            ),
            opt(
                "hash_or_height",
                Any,
                "the current best block",
                "A past block: needs Core's coinstatsindex, which Cairn does not keep (-8)",
            ),
            opt("use_index", Bool, "true", "Accepted for compatibility (no index is kept)"),
        ],
        "Returns statistics about the unspent transaction output set, with its digest.",
        "{ \"height\", \"bestblock\", \"txouts\", \"bogosize\", \"hash_serialized_3\" (not with hash_type none), \"total_amount\" }",
        "[]",
    ),
];
