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
        "getmininginfo",
        &[],
        "Returns a json object containing mining-related information.",
        "{ \"blocks\", \"currentblockweight\", \"currentblocktx\", \"bits\", \"difficulty\", \"target\", \"networkhashps\", \"pooledtx\", \"chain\", \"warnings\" }",
        "[]",
    ),
];
