//! Every method's parameters, as Bitcoin Core declares them (`RPCHelpMan`), and what follows from
//! that one table:
//! - **strict parameters** ([`normalize`]): the compat layer turns named parameters into positional
//!   ones and checks them before jsonrpsee sees the call, as Core's server does — an unknown name
//!   is `-8 Unknown named parameter …`, too many or too few arguments answer the method's help
//!   text as a `-1` error, a value of the wrong JSON type is `-3 Wrong type passed: …` (jsonrpsee
//!   alone would ignore extras, so a misspelt `fee_rate` would pay the default fee);
//! - **`help`** ([`help_text`]): usage, description, Arguments, Result and Examples of each method;
//! - **`cairn cli`'s argument table** ([`cli_is_json`]): which arguments are sent as JSON and which
//!   as strings (bitcoin-cli's `vRPCConvertParams`).
//!
//! A node test checks that every method the server registers is here and nothing else is.

mod blockchain;
mod control;
mod files;
mod mining;
mod network;
mod rawtx;
mod wallet;

use serde_json::Value;
use serde_json::value::RawValue;

use crate::error::code;

/// A parameter's JSON type, as Core's `RPCArg::Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A string.
    Str,
    /// A hex string (hashes, serialized data).
    Hex,
    /// A number.
    Num,
    /// An amount: a number or a decimal string.
    Amount,
    /// `true` or `false`.
    Bool,
    /// An object with named members.
    Obj,
    /// An object whose keys are the caller's (addresses → amounts).
    ObjUserKeys,
    /// An array.
    Arr,
    /// A number or a `[begin, end]` array.
    Range,
    /// Not checked here: the method accepts several types (Core's `skip_type_check`, e.g. a
    /// verbosity given as a number or a boolean).
    Any,
}

impl Kind {
    /// The type as `help` names it.
    fn help_name(self) -> &'static str {
        match self {
            Kind::Str | Kind::Hex => "string",
            Kind::Num => "numeric",
            Kind::Amount => "numeric or string",
            Kind::Bool => "boolean",
            Kind::Obj | Kind::ObjUserKeys => "json object",
            Kind::Arr => "json array",
            Kind::Range => "numeric or array",
            Kind::Any => "any",
        }
    }

    /// The JSON type a value must have, if only one is allowed.
    fn expected(self) -> Option<&'static str> {
        match self {
            Kind::Str | Kind::Hex => Some("string"),
            Kind::Num => Some("number"),
            Kind::Bool => Some("bool"),
            Kind::Obj | Kind::ObjUserKeys => Some("object"),
            Kind::Arr => Some("array"),
            Kind::Amount | Kind::Range | Kind::Any => None,
        }
    }

    /// Whether it still matches `value` (for the kinds with several types).
    fn matches(self, value: &Value) -> bool {
        match self {
            Kind::Amount => value.is_number() || value.is_string(),
            Kind::Range => value.is_number() || value.is_array(),
            Kind::Any => true,
            k => k.expected() == Some(json_type(value)),
        }
    }
}

/// Core's name for a JSON value's type (`uvTypeName`).
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// One parameter.
#[derive(Debug)]
pub struct Param {
    /// Its name, for named calls and help; Core's aliases follow after `|`
    /// (`verbosity|verbose`: either name may be given, not both).
    pub name: &'static str,
    /// Its type.
    pub kind: Kind,
    /// `None` if required; else the default as help shows it (`""`: no default to show).
    pub default: Option<&'static str>,
    /// What it means.
    pub doc: &'static str,
}

impl Param {
    /// Its name and aliases.
    pub fn names(&self) -> impl Iterator<Item = &'static str> {
        self.name.split('|')
    }

    /// The name usage lines show.
    fn main_name(&self) -> &'static str {
        self.name.split('|').next().unwrap_or(self.name)
    }
}

/// A required parameter.
pub const fn req(name: &'static str, kind: Kind, doc: &'static str) -> Param {
    Param {
        name,
        kind,
        default: None,
        doc,
    }
}

/// An optional parameter with its default (`""` for none worth showing).
pub const fn opt(name: &'static str, kind: Kind, default: &'static str, doc: &'static str) -> Param {
    Param {
        name,
        kind,
        default: Some(default),
        doc,
    }
}

/// One method.
#[derive(Debug)]
pub struct MethodSpec {
    /// Core's category heading (Cairn's own areas: Chord, Files).
    pub category: &'static str,
    /// The method name.
    pub name: &'static str,
    /// Its parameters, in position order.
    pub params: &'static [Param],
    /// What it does.
    pub summary: &'static str,
    /// The Result section of its help.
    pub result: &'static str,
    /// Example arguments as a JSON array (`[]` for none), shown as a cli call and a curl call.
    pub example: &'static str,
}

/// A method's entry.
pub const fn method(
    category: &'static str,
    name: &'static str,
    params: &'static [Param],
    summary: &'static str,
    result: &'static str,
    example: &'static str,
) -> MethodSpec {
    MethodSpec {
        category,
        name,
        params,
        summary,
        result,
        example,
    }
}

/// Every method's table, by area.
const TABLES: &[&[MethodSpec]] = &[
    blockchain::METHODS,
    control::METHODS,
    files::METHODS,
    mining::METHODS,
    network::METHODS,
    rawtx::METHODS,
    wallet::METHODS,
];

/// Every method, in no particular order.
pub fn all() -> impl Iterator<Item = &'static MethodSpec> {
    TABLES.iter().flat_map(|t| t.iter())
}

/// The method called `name`.
pub fn find(name: &str) -> Option<&'static MethodSpec> {
    all().find(|m| m.name == name)
}

/// Whether `cairn cli` sends argument `index` of `method` as JSON (else as a string). Unknown
/// methods and arguments past the table are sent as JSON when they parse as JSON.
pub fn cli_is_json(method: &str, index: usize) -> bool {
    find(method)
        .and_then(|m| m.params.get(index))
        .is_none_or(|p| !matches!(p.kind, Kind::Str | Kind::Hex))
}

/// Whether `cairn cli -named` sends parameter `name` of `method` as JSON.
pub fn cli_named_is_json(method: &str, name: &str) -> bool {
    find(method)
        .and_then(|m| m.params.iter().find(|p| p.names().any(|n| n == name)))
        .is_none_or(|p| !matches!(p.kind, Kind::Str | Kind::Hex))
}

/// Why a call's parameters were refused: Core's code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    /// `-8` (unknown name), `-1` (wrong count: the message is the help text) or `-3` (type).
    pub code: i32,
    /// The message.
    pub message: String,
}

/// Checks a call's parameters as Core's server does and returns them as a positional array
/// (JSON text), or `None` when there are none. Methods not in the table pass through unchanged.
///
/// # Errors
/// An unknown named parameter (`-8`), too many or too few arguments (`-1`, with the method's
/// help), an argument of the wrong type or a required one given as `null` (`-3`).
pub fn normalize(method: &str, params: Option<&RawValue>) -> Result<Option<String>, ParamError> {
    let Some(spec) = find(method) else {
        return Ok(params.map(|p| p.get().to_string()));
    };
    let values: Vec<Value> = match params.map(|p| serde_json::from_str::<Value>(p.get())) {
        None | Some(Ok(Value::Null)) => Vec::new(),
        Some(Ok(Value::Array(a))) => a,
        Some(Ok(Value::Object(named))) => positional(spec, named)?,
        // The compat layer only forwards arrays, objects and null.
        Some(Ok(_)) | Some(Err(_)) => {
            return Err(ParamError {
                code: code::INVALID_REQUEST,
                message: "Params must be an array or object".into(),
            });
        }
    };
    // Trailing nulls past our parameters stand for Core's later ones not given (clients send
    // them); within ours they are checked (a required one given as null is -3, as Core).
    let mut values = values;
    while values.len() > spec.params.len() && values.last().is_some_and(Value::is_null) {
        values.pop();
    }
    // Core's count: up to the last required parameter (an optional one before it, as
    // `prioritisetransaction`'s dummy, must then be given, as null).
    let required = spec.params.iter().rposition(|p| p.default.is_none()).map_or(0, |i| i + 1);
    if values.len() > spec.params.len() || values.len() < required {
        return Err(ParamError {
            code: code::MISC_ERROR,
            message: method_help(spec),
        });
    }
    let mismatches: Vec<String> = spec
        .params
        .iter()
        .zip(&values)
        .enumerate()
        .filter_map(|(i, (p, v))| {
            let wrong = if v.is_null() { p.default.is_none() } else { !p.kind.matches(v) };
            wrong.then(|| {
                let expected = p.kind.expected().unwrap_or("number or string");
                format!(
                    "    \"Position {} ({})\": \"JSON value of type {} is not of expected type {}\"",
                    i + 1,
                    p.name,
                    json_type(v),
                    expected
                )
            })
        })
        .collect();
    if !mismatches.is_empty() {
        return Err(ParamError {
            code: code::TYPE_ERROR,
            message: format!("Wrong type passed:\n{{\n{}\n}}", mismatches.join(",\n")),
        });
    }
    while values.last().is_some_and(Value::is_null) {
        values.pop();
    }
    Ok((!values.is_empty()).then(|| Value::Array(values).to_string()))
}

/// Named parameters in position order, `null` for those skipped (Core's
/// `transformNamedArguments`).
fn positional(spec: &MethodSpec, named: serde_json::Map<String, Value>) -> Result<Vec<Value>, ParamError> {
    if let Some(unknown) = named
        .keys()
        .find(|k| !spec.params.iter().any(|p| p.names().any(|n| n == k.as_str())))
    {
        return Err(ParamError {
            code: code::INVALID_PARAMETER,
            message: format!("Unknown named parameter {unknown}"),
        });
    }
    let mut named = named;
    let mut out = Vec::with_capacity(spec.params.len());
    for p in spec.params {
        let mut given = p.names().filter_map(|n| named.remove(n));
        out.push(given.next().unwrap_or(Value::Null));
        if given.next().is_some() {
            return Err(ParamError {
                code: code::INVALID_PARAMETER,
                message: format!("Parameter {} specified multiple times", p.name),
            });
        }
    }
    while out.last().is_some_and(Value::is_null) {
        out.pop();
    }
    Ok(out)
}

/// `method arg1 ( opt1 opt2 )`, as Core writes a usage line.
fn usage(spec: &MethodSpec) -> String {
    let mut line = spec.name.to_string();
    let mut open = false;
    for p in spec.params {
        if p.default.is_some() && !open {
            line.push_str(" (");
            open = true;
        }
        line.push(' ');
        let name = p.main_name();
        line.push_str(&match p.kind {
            Kind::Str | Kind::Hex => format!("\"{name}\""),
            Kind::Arr => format!("[{name},...]"),
            Kind::Obj | Kind::ObjUserKeys => format!("{{{name}}}"),
            _ => name.to_string(),
        });
    }
    if open {
        line.push_str(" )");
    }
    line
}

/// One argument as `cairn cli` takes it on a command line.
fn cli_word(value: &Value) -> String {
    match value {
        Value::String(s) if !s.is_empty() && !s.contains([' ', '"', '\'']) => s.clone(),
        Value::String(s) => format!("\"{s}\""),
        Value::Array(_) | Value::Object(_) => format!("'{value}'"),
        other => other.to_string(),
    }
}

/// The full help of one method: usage, description, Arguments, Result, Examples.
fn method_help(spec: &MethodSpec) -> String {
    let mut text = format!("{}\n\n{}\n", usage(spec), spec.summary);
    if !spec.params.is_empty() {
        text.push_str("\nArguments:\n");
        let width = spec.params.iter().map(|p| p.name.len()).max().unwrap_or(0);
        for (i, p) in spec.params.iter().enumerate() {
            let need = match p.default {
                None => "required".to_string(),
                Some("") => "optional".to_string(),
                Some(d) => format!("optional, default={d}"),
            };
            text.push_str(&format!(
                "{}. {:width$}    ({}, {need}) {}\n",
                i + 1,
                p.name,
                p.kind.help_name(),
                p.doc
            ));
        }
    }
    text.push_str(&format!("\nResult:\n{}\n", spec.result));
    let args: Vec<Value> = serde_json::from_str(spec.example).unwrap_or_default();
    let words: Vec<String> = args.iter().map(cli_word).collect();
    let cli = if words.is_empty() {
        spec.name.to_string()
    } else {
        format!("{} {}", spec.name, words.join(" "))
    };
    text.push_str(&format!(
        "\nExamples:\n> cairn cli {cli}\n> curl --user myusername --data-binary '{{\"jsonrpc\": \"2.0\", \"id\": \"curltest\", \"method\": \"{}\", \"params\": {}}}' -H 'content-type: application/json' http://127.0.0.1:18443/\n",
        spec.name,
        Value::Array(args)
    ));
    text
}

/// Core's category of commands `help` does not list.
pub const HIDDEN: &str = "Hidden";

/// The `help` text: every method by category, or one method's full help, or Core's answer for a
/// method that does not exist (`help: unknown command: NAME`, a result, not an error).
pub fn help_text(command: Option<&str>) -> String {
    match command {
        Some(name) => find(name).map_or_else(|| format!("help: unknown command: {name}\n"), method_help),
        None => {
            // As Core's, the list leaves out hidden commands (`help NAME` still explains them).
            let mut methods: Vec<&MethodSpec> = all().filter(|m| m.category != HIDDEN).collect();
            methods.sort_by_key(|m| (m.category, m.name));
            let mut text = String::new();
            let mut category = "";
            for m in methods {
                if m.category != category {
                    if !text.is_empty() {
                        text.push('\n');
                    }
                    text.push_str(&format!("== {} ==\n", m.category));
                    category = m.category;
                }
                text.push_str(&usage(m));
                text.push('\n');
            }
            text.pop();
            text
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_string()).unwrap()
    }

    fn norm(method: &str, params: &str) -> Result<Option<String>, ParamError> {
        normalize(method, Some(&raw(params)))
    }

    #[test]
    fn the_table_is_consistent() {
        let mut names: Vec<&str> = all().map(|m| m.name).collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "a method is listed twice");
        for m in all() {
            let args: Result<Vec<Value>, _> = serde_json::from_str(m.example);
            let args = args.unwrap_or_else(|e| panic!("{}: example {e}", m.name));
            assert!(args.len() <= m.params.len(), "{}: example has too many arguments", m.name);
            assert!(
                norm(m.name, m.example).is_ok(),
                "{}: its own example is refused: {:?}",
                m.name,
                norm(m.name, m.example)
            );
        }
    }

    #[test]
    fn named_parameters_become_positional_and_unknown_names_are_refused() {
        assert_eq!(norm("getblockhash", r#"{"height":5}"#).unwrap().as_deref(), Some("[5]"));
        assert_eq!(
            norm("getblock", r#"{"verbosity":2,"blockhash":"ab"}"#).unwrap().as_deref(),
            Some(r#"["ab",2]"#)
        );
        assert_eq!(
            norm("sendtoaddress", r#"{"address":"a","amount":1,"fee_rate":25}"#)
                .unwrap()
                .as_deref(),
            Some(r#"["a",1,null,null,null,null,null,null,null,25]"#)
        );
        let e = norm("sendtoaddress", r#"{"address":"a","amount":1,"feerate":25}"#).unwrap_err();
        assert_eq!((e.code, e.message.as_str()), (-8, "Unknown named parameter feerate"));
        assert_eq!(norm("getblockcount", "{}").unwrap(), None);
        // Core's aliases: either name, not both.
        assert_eq!(
            norm("getblock", r#"{"blockhash":"ab","verbose":0}"#).unwrap().as_deref(),
            Some(r#"["ab",0]"#)
        );
        let e = norm("getblock", r#"{"blockhash":"ab","verbose":0,"verbosity":1}"#).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (-8, "Parameter verbosity|verbose specified multiple times")
        );
        assert_eq!(normalize("getblockcount", None).unwrap(), None);
    }

    #[test]
    fn argument_counts_and_types_are_checked_as_core() {
        let e = norm("getblockcount", "[1]").unwrap_err();
        assert_eq!(e.code, -1);
        assert!(e.message.starts_with("getblockcount\n"), "{}", e.message);
        let e = norm("getblockhash", "[]").unwrap_err();
        assert_eq!(e.code, -1);
        assert!(e.message.contains("Arguments:\n1. height"), "{}", e.message);
        let e = norm("getblockhash", r#"["5"]"#).unwrap_err();
        assert_eq!(e.code, -3);
        assert_eq!(
            e.message,
            "Wrong type passed:\n{\n    \"Position 1 (height)\": \"JSON value of type string is not of expected type number\"\n}"
        );
        let e = norm("getblockhash", "[null]").unwrap_err();
        assert_eq!(e.code, -3);
        // Optional nulls are "not given"; amounts take numbers and strings; verbosity anything.
        assert_eq!(norm("getblock", r#"["ab",null]"#).unwrap().as_deref(), Some(r#"["ab"]"#));
        assert_eq!(norm("getblock", r#"["ab",null,null,null]"#).unwrap().as_deref(), Some(r#"["ab"]"#));
        assert!(norm("sendtoaddress", r#"["a","0.1"]"#).is_ok());
        assert!(norm("sendtoaddress", r#"["a",true]"#).is_err());
        assert!(norm("getblock", r#"["ab",true]"#).is_ok());
        // Unknown methods pass through for jsonrpsee's "Method not found".
        assert_eq!(norm("nosuchmethod", "[1,2]").unwrap().as_deref(), Some("[1,2]"));
    }

    #[test]
    fn help_follows_core() {
        assert_eq!(help_text(Some("nosuch")), "help: unknown command: nosuch\n");
        let all = help_text(None);
        assert!(all.starts_with("== Blockchain ==\ngetbestblockhash\n"), "{all}");
        assert!(all.contains("\n\n== Wallet ==\n"), "{all}");
        let one = help_text(Some("getblock"));
        assert!(one.starts_with("getblock \"blockhash\" ( verbosity )\n\n"), "{one}");
        for section in ["\nArguments:\n1. blockhash", "\nResult:\n", "\nExamples:\n> cairn cli getblock "] {
            assert!(one.contains(section), "{section} missing from\n{one}");
        }
    }

    #[test]
    fn the_cli_sends_strings_where_core_expects_strings() {
        assert!(!cli_is_json("getnewaddress", 0));
        assert!(cli_is_json("getblockhash", 0));
        assert!(cli_is_json("getblock", 1));
        assert!(!cli_is_json("getblock", 0));
        assert!(cli_is_json("nosuchmethod", 0));
        assert!(!cli_named_is_json("sendtoaddress", "comment"));
        assert!(cli_named_is_json("sendtoaddress", "fee_rate"));
    }
}
