//! Cairn's own: sharing files by content hash, and the Chord ring that indexes them.

use super::Kind::*;
use super::{MethodSpec, method, opt, req};

const CID: &str = r#"["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"]"#;

pub const METHODS: &[MethodSpec] = &[
    method(
        "Chord",
        "chordlookup",
        &[req("key", Str, "64 hex digits (a cid, or any ring id) or a keyword")],
        "Find the node responsible for a key on the Chord ring.",
        "{ \"key\", \"node\": { \"id\", \"peer\" }, \"hops\", \"path\": [ { \"id\", \"peer\" }, ... ] (the nodes asked, in order) }",
        "[\"holiday\"]",
    ),
    method(
        "Chord",
        "getchordinfo",
        &[],
        "This node's place on the Chord ring. Consecutive fingers pointing at the same node are shown as one row.",
        "{ \"id\", \"peer\", \"predecessor\", \"successors\": [...], \"fingers\": [ { \"index\", \"start\", \"node\" }, ... ], \"keys_stored\", \"records\", \"vnodes\": [...] }",
        "[]",
    ),
    method(
        "Files",
        "anchorfile",
        &[req("cid", Str, "The content id")],
        "Anchor a content id in the chain: the wallet pays for a transaction whose data output commits to it (\"cairn:a1\" and the 32-byte id). Once mined, verifyanchor anywhere proves the content existed no later than that block's time.",
        "{ \"cid\", \"txid\" }",
        CID,
    ),
    method(
        "Files",
        "fetchfile",
        &[
            req(
                "cid",
                Str,
                "A content id (hex) or a share link (magnet:?xt=urn:cairn:CID&dn=NAME&xl=SIZE&x.pe=ADDR..., from publishfile or getfetchstatus; its peers are asked at once)",
            ),
            opt(
                "dest",
                Str,
                "DATADIR/NETWORK/downloads/NAME",
                "A new path, or an existing directory to put it in; relative paths are taken from the downloads folder",
            ),
            opt(
                "files",
                Arr,
                "all",
                "A folder only: the paths inside it to fetch, a sub-folder meaning every file under it",
            ),
        ],
        "Start fetching a file or folder and return its status at once. Fetching a file already fetched or shared returns its status.",
        "the status, as getfetchstatus",
        CID,
    ),
    method(
        "Files",
        "getfetchstatus",
        &[req("cid", Str, "The content id")],
        "Returns the state of a fetch or published file. Progress and eta count the chosen files only.",
        "{ \"cid\", \"name\", \"state\": \"searching\"|\"downloading\"|\"complete\"|\"paused\"|\"failed\", \"pieces_have\", \"pieces_total\", \"bytes\", \"peers\", \"download_rate\", \"upload_rate\", \"eta\" (seconds, or null), \"path\", \"error\", \"link\" (share link naming this node while it serves the file), \"files\" (a folder only: [ { \"index\", \"path\", \"size\", \"selected\", \"bytes\" }, ... ]) }",
        CID,
    ),
    method(
        "Files",
        "listfiles",
        &[],
        "Lists every file this node publishes or fetches, with its progress.",
        "[ status (as getfetchstatus), ... ]",
        "[]",
    ),
    method(
        "Files",
        "pausefile",
        &[req("cid", Str, "The content id")],
        "Pause a fetch or a shared file: it leaves its swarm and is no longer announced; the verified pieces stay on disk, also across restarts, until resumefile.",
        "the status (state \"paused\"), as getfetchstatus",
        CID,
    ),
    method(
        "Files",
        "publishfile",
        &[
            req(
                "path",
                Str,
                "A file or folder of the node's file system (every regular file under a folder; symbolic links skipped)",
            ),
            opt("name", Str, "the file's name", "The name it is shared under"),
            opt(
                "keywords",
                Arr,
                "the words of the name",
                "Keywords it is found by (normalized to lower-case words)",
            ),
            opt(
                "anchor",
                Bool,
                "false",
                "Also anchor it in the chain (as anchorfile, paid by the wallet)",
            ),
        ],
        "Share a file or a folder by content hash. It is served from where it is; the Chord ring gets a provider record and one posting per keyword.",
        "{ \"cid\", \"name\", \"size\", \"pieces\", \"piece_size\", \"keywords\", \"link\" (a share link naming this node's addresses, for fetchfile elsewhere), \"anchor\" (the anchoring txid, with anchor), \"anchor_error\" (why it could not be anchored; the file is shared all the same) }",
        "[\"/home/me/holiday.mp4\"]",
    ),
    method(
        "Files",
        "removefile",
        &[req("cid", Str, "The content id")],
        "Stop sharing or fetching a file. Its data file is left on disk.",
        "null",
        CID,
    ),
    method(
        "Files",
        "resumefile",
        &[req("cid", Str, "The content id")],
        "Resume a paused file from the pieces it holds (nothing verified is fetched again), or retry a failed fetch.",
        "the status, as getfetchstatus",
        CID,
    ),
    method(
        "Files",
        "searchfiles",
        &[
            req(
                "query",
                Str,
                "The words to find (every word must match), or with flood the text a name must contain",
            ),
            opt(
                "options",
                Obj,
                "{}",
                "{\"flood\": true, \"ttl\": n}: send the text Gnutella-style to the neighbours, up to ttl hops (1-7, default 4), instead of asking the Chord ring",
            ),
        ],
        "Find files, most providers first: by keywords on the Chord ring, or by a substring of the name among the nodes within ttl hops.",
        "[ { \"cid\", \"name\", \"size\", \"providers\" (flood: and \"peers\", \"hops\") }, ... ]",
        "[\"holiday 2024\"]",
    ),
    method(
        "Files",
        "verifyanchor",
        &[req("cid", Str, "The content id")],
        "The earliest anchor of a content id in the active chain (one waiting in the mempool if none is mined yet); an error if it was never anchored.",
        "{ \"cid\", \"txid\", \"blockhash\", \"height\", \"time\" (the content existed no later than this), \"confirmations\", \"anchors\" (how many in the chain) } — in the mempool: { \"cid\", \"txid\", \"confirmations\": 0, \"anchors\": 0 }",
        CID,
    ),
];
