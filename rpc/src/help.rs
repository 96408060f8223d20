//! The text of `help`: every method with its arguments, grouped as in Bitcoin Core.

/// One method's help: category, usage line and description.
pub struct MethodHelp {
    /// Core's category heading.
    pub category: &'static str,
    /// The method name.
    pub name: &'static str,
    /// Arguments as Core writes them (`"blockhash" ( verbosity )`).
    pub args: &'static str,
    /// What it does.
    pub description: &'static str,
}

/// Every method the server offers.
pub const METHODS: &[MethodHelp] = &[
    m(
        "Blockchain",
        "getbestblockhash",
        "",
        "Returns the hash of the best (tip) block in the most-work fully-validated chain.",
    ),
    m(
        "Blockchain",
        "getblock",
        "\"blockhash\" ( verbosity )",
        "Returns a block: verbosity 0 hex, 1 (default) with txids, 2 with decoded transactions and fees.",
    ),
    m(
        "Blockchain",
        "getblockchaininfo",
        "",
        "Returns an object containing various state info regarding blockchain processing.",
    ),
    m(
        "Blockchain",
        "getblockcount",
        "",
        "Returns the height of the most-work fully-validated chain. The genesis block has height 0.",
    ),
    m(
        "Blockchain",
        "getchaintips",
        "",
        "Return information about all known tips in the block tree, including the main chain as well as orphaned branches.",
    ),
    m(
        "Blockchain",
        "getblockhash",
        "height",
        "Returns hash of block in best-block-chain at height provided.",
    ),
    m(
        "Blockchain",
        "getblockheader",
        "\"blockhash\" ( verbose )",
        "Returns the block header: decoded (verbose=true, default) or as hex.",
    ),
    m(
        "Blockchain",
        "getdifficulty",
        "",
        "Returns the proof-of-work difficulty as a multiple of the minimum difficulty.",
    ),
    m(
        "Blockchain",
        "getmempoolinfo",
        "",
        "Returns details on the active state of the transaction memory pool.",
    ),
    m(
        "Blockchain",
        "getrawmempool",
        "( verbose )",
        "Returns all transaction ids in memory pool, or an object per transaction when verbose.",
    ),
    m(
        "Blockchain",
        "gettxout",
        "\"txid\" n ( include_mempool )",
        "Returns details about an unspent transaction output, or null.",
    ),
    m(
        "Blockchain",
        "gettxoutsetinfo",
        "( \"hash_type\" )",
        "Returns statistics about the unspent transaction output set, with its digest.",
    ),
    m(
        "Control",
        "help",
        "( \"command\" )",
        "List all commands, or get help for a specified command.",
    ),
    m(
        "Chord",
        "chordlookup",
        "\"key\"",
        "Find the node responsible for a key on the Chord ring: 64 hex digits (a cid, or any ring id) or a keyword. Returns {key, node: {id, peer}, hops}.",
    ),
    m(
        "Chord",
        "getchordinfo",
        "",
        "This node's place on the Chord ring: {id, peer, predecessor, successors[], fingers[] {index, start, node}, keys_stored, records, vnodes[]}. Consecutive fingers pointing at the same node are shown as one row.",
    ),
    m(
        "Control",
        "getmemoryinfo",
        "( \"mode\" )",
        "Returns an object containing information about memory usage (mode \"stats\"; Cairn keeps no locked pool: all 0).",
    ),
    m("Control", "stop", "", "Request a graceful shutdown of the node."),
    m("Control", "uptime", "", "Returns the total uptime of the server in seconds."),
    m(
        "Files",
        "fetchfile",
        "\"cid|link\" ( \"dest\" [\"file\",...] )",
        "Start fetching a file or folder by content id (hex) or share link (magnet:?xt=urn:cairn:CID&dn=NAME&xl=SIZE&x.pe=ADDR..., from publishfile or getfetchstatus; its peers are asked at once) and return its status at once. dest: a new path, or an existing directory to put it in (default: DATADIR/NETWORK/downloads/NAME; relative paths are taken from that folder). files (a folder only): the paths inside the folder to fetch, a sub-folder meaning every file under it (default: all; the status lists the folder's files once the manifest is known). Fetching a file already fetched or shared returns its status.",
    ),
    m(
        "Files",
        "getfetchstatus",
        "\"cid\"",
        "Returns the state of a fetch or published file: {state: searching|downloading|complete|failed, pieces_have, pieces_total, bytes, peers, download_rate, upload_rate, eta (seconds, or null), path, error, link (share link; names this node while it serves the file), files (a folder only: [{index, path, size, selected, bytes}]), ...}. Progress and eta count the chosen files only.",
    ),
    m(
        "Files",
        "listfiles",
        "",
        "Lists every file this node publishes or fetches, with its progress.",
    ),
    m(
        "Files",
        "publishfile",
        "\"path\" ( \"name\" [\"keyword\",...] )",
        "Share a file or a folder (every regular file under it, symbolic links skipped) of the node's file system by content hash: returns {cid, name, size, pieces, piece_size, keywords, link} (link: a share link naming this node's addresses, for fetchfile elsewhere). It is served from where it is; name defaults to the file's name; keywords (normalized to lower-case words) default to the words of the name. The Chord ring gets a provider record and one posting per keyword.",
    ),
    m(
        "Files",
        "searchfiles",
        "\"words\" ( {\"flood\":bool,\"ttl\":n} )",
        "Find files. By default asks the Chord ring for each word's postings and returns the files matching every word, most providers first: [{cid, name, size, providers}]. With {\"flood\": true} the text is instead sent Gnutella-style to the neighbours, up to ttl hops (1-7, default 4), and files whose names contain it are returned with the peers that have them and the hops to the nearest.",
    ),
    m(
        "Files",
        "removefile",
        "\"cid\"",
        "Stop sharing or fetching a file. Its data file is left on disk.",
    ),
    m(
        "Files",
        "pausefile",
        "\"cid\"",
        "Pause a fetch or a shared file: it leaves its swarm and is no longer announced; the verified pieces stay on disk, also across restarts, until resumefile. Returns its status (state \"paused\").",
    ),
    m(
        "Files",
        "resumefile",
        "\"cid\"",
        "Resume a paused file from the pieces it holds (nothing verified is fetched again), or retry a failed fetch. Returns its status.",
    ),
    m(
        "Mining",
        "generatetoaddress",
        "nblocks \"address\" ( maxtries )",
        "Mine blocks immediately to a specified address; returns their hashes.",
    ),
    m(
        "Mining",
        "getgenerate",
        "",
        "Return if the node is set to mine coins continuously (as Bitcoin Core up to 0.12).",
    ),
    m(
        "Mining",
        "getmininginfo",
        "",
        "Returns a json object containing mining-related information.",
    ),
    m(
        "Mining",
        "setgenerate",
        "generate ( genproclimit )",
        "Set 'generate' true or false to turn continuous mining on or off, on genproclimit threads (default 1, -1: one per core), paying to --mine-to or a fresh wallet address (as Bitcoin Core up to 0.12).",
    ),
    m(
        "Network",
        "addnode",
        "\"node\" \"command\"",
        "Add (add), remove (remove) or try once (onetry) a peer, given as a multiaddr.",
    ),
    m(
        "Network",
        "getconnectioncount",
        "",
        "Returns the number of connections to other nodes.",
    ),
    m(
        "Network",
        "getnettotals",
        "",
        "Returns information about network traffic, including bytes in, bytes out, and current system time.",
    ),
    m(
        "Network",
        "getnetworkinfo",
        "",
        "Returns an object containing various state info regarding P2P networking.",
    ),
    m("Network", "getpeerinfo", "", "Returns data about each connected network peer."),
    m("Network", "listbanned", "", "List all banned peers (by peer id)."),
    m("Network", "clearbanned", "", "Clear all banned peers."),
    m(
        "Network",
        "disconnectnode",
        "( \"address\" nodeid )",
        "Immediately disconnects from the specified peer (a peer id or multiaddr, or the id from getpeerinfo).",
    ),
    m(
        "Network",
        "setban",
        "\"subnet\" \"command\" ( bantime absolute )",
        "Attempts to add or remove a peer id from the banned list (command: add|remove; bantime in seconds, default 86400).",
    ),
    m(
        "Rawtransactions",
        "decoderawtransaction",
        "\"hexstring\"",
        "Return a JSON object representing the serialized, hex-encoded transaction.",
    ),
    m(
        "Rawtransactions",
        "getrawtransaction",
        "\"txid\" ( verbose \"blockhash\" )",
        "Return a mempool transaction, or one from the given block.",
    ),
    m(
        "Rawtransactions",
        "sendrawtransaction",
        "\"hexstring\" ( maxfeerate )",
        "Submit a raw transaction (hex) to the local node and network.",
    ),
    m(
        "Rawtransactions",
        "createrawtransaction",
        "[{\"txid\":\"hex\",\"vout\":n},...] {\"address\":amount,...} ( locktime )",
        "Create an unsigned transaction spending the given inputs and paying the given outputs; returns hex.",
    ),
    m(
        "Wallet",
        "getbalance",
        "( \"dummy\" minconf include_watchonly avoid_reuse )",
        "Returns the total available balance.",
    ),
    m("Wallet", "getbalances", "", "Returns an object with all balances in coins."),
    m(
        "Wallet",
        "getnewaddress",
        "( \"label\" \"address_type\" )",
        "Returns a new address for receiving payments.",
    ),
    m(
        "Wallet",
        "gettransaction",
        "\"txid\" ( include_watchonly verbose )",
        "Get detailed information about an in-wallet transaction.",
    ),
    m(
        "Wallet",
        "listtransactions",
        "( \"label\" count skip include_watchonly )",
        "Returns up to 'count' most recent transactions skipping the first 'skip'.",
    ),
    m(
        "Wallet",
        "listunspent",
        "( minconf maxconf [\"address\",...] include_unsafe )",
        "Returns array of unspent transaction outputs.",
    ),
    m(
        "Wallet",
        "signrawtransactionwithwallet",
        "\"hexstring\"",
        "Sign the inputs of a raw transaction (hex) with this wallet's keys; returns {hex, complete, errors}.",
    ),
    m(
        "Wallet",
        "sendtoaddress",
        "\"address\" amount ( \"comment\" \"comment_to\" subtractfeefromamount replaceable conf_target \"estimate_mode\" avoid_reuse fee_rate )",
        "Send an amount to a given address; returns the txid. Comments are accepted and not stored.",
    ),
    m(
        "Wallet",
        "validateaddress",
        "\"address\"",
        "Return information about the given address.",
    ),
];

const fn m(category: &'static str, name: &'static str, args: &'static str, description: &'static str) -> MethodHelp {
    MethodHelp {
        category,
        name,
        args,
        description,
    }
}

fn usage(h: &MethodHelp) -> String {
    if h.args.is_empty() {
        h.name.to_string()
    } else {
        format!("{} {}", h.name, h.args)
    }
}

/// The `help` text: all methods by category, or one method's usage and description.
pub fn help_text(command: Option<&str>) -> Option<String> {
    match command {
        Some(name) => METHODS
            .iter()
            .find(|h| h.name == name)
            .map(|h| format!("{}\n\n{}\n", usage(h), h.description)),
        None => {
            let mut categories: Vec<&str> = METHODS.iter().map(|h| h.category).collect();
            categories.dedup();
            let sections: Vec<String> = categories
                .iter()
                .map(|c| {
                    let lines: Vec<String> = METHODS.iter().filter(|h| h.category == *c).map(usage).collect();
                    format!("== {c} ==\n{}", lines.join("\n"))
                })
                .collect();
            Some(sections.join("\n\n"))
        }
    }
}
