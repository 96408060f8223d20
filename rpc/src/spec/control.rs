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
];
