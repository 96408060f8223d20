//! Control methods: the server itself.

use super::Kind::*;
use super::{MethodSpec, method, opt};

pub const METHODS: &[MethodSpec] = &[
    method(
        "Control",
        "getmemoryinfo",
        &[opt(
            "mode",
            Str,
            "\"stats\"",
            "\"stats\" (general statistics); \"mallocinfo\" is refused, as by a Core built without glibc",
        )],
        "Returns an object containing information about memory usage (Cairn keeps no locked pool: all 0).",
        "{ \"locked\": { \"used\", \"free\", \"total\", \"locked\", \"chunks_used\", \"chunks_free\" } }",
        "[]",
    ),
    method(
        "Control",
        "getrpcinfo",
        &[],
        "Returns details of the RPC server.",
        "{ \"active_commands\": [ { \"method\", \"duration\" (microseconds) }, ... ], \"logpath\" (\"\": Cairn logs to standard error) }",
        "[]",
    ),
    method(
        "Control",
        "help",
        &[opt("command", Str, "all commands", "The command to get help on")],
        "List all commands, or get help for a specified command.",
        "\"text\"    (string) the help text",
        "[\"getblock\"]",
    ),
    method(
        "Control",
        "stop",
        &[],
        "Request a graceful shutdown of the node.",
        "\"text\"    (string) a string with the content 'Cairn server stopping'",
        "[]",
    ),
    method(
        "Control",
        "uptime",
        &[],
        "Returns the total uptime of the server in seconds.",
        "n    (numeric) the number of seconds that the server has been running",
        "[]",
    ),
    method(
        "Control",
        "logging",
        &[
            opt(
                "include",
                Arr,
                "",
                "The categories to add to debug logging (\"all\" or \"1\": every one)",
            ),
            opt(
                "exclude",
                Arr,
                "",
                "The categories to remove from debug logging (\"all\" or \"1\": every one)",
            ),
        ],
        "Gets and sets the logging configuration. When called without an argument, returns the list of categories with status that are currently being debug logged or not. When called with arguments, adds or removes categories from debug logging and return the lists above. The arguments are evaluated in order \"include\", \"exclude\". Categories are Core's (net, mempool, validation, rpc, walletdb, estimatefee, … those with no Cairn counterpart change nothing) and Cairn's (chord, content, sync, mining).",
        "{ \"category\": true|false, ... }",
        r#"[["all"], ["libevent"]]"#,
    ),
];
