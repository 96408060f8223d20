//! Core's two RPC endpoints: `/` and `/wallet/<name>`, the second choosing the wallet a wallet
//! method acts on (bitcoin-cli's `-rpcwallet`). The name is percent-encoded in the path, as
//! Core's `urlDecode` reads it (`+` stays a plus sign).

/// The wallet a request's path names, if any: put in every call's extensions by
/// [`crate::compat`], read by the wallet methods.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WalletEndpoint(pub Option<String>);

/// Where the wallet endpoint's paths start.
pub const WALLET_BASE: &str = "/wallet/";

/// A path that is neither endpoint (Core answers 404).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownPath;

/// Reads a request path: `Ok(None)` for `/`, `Ok(Some(name))` for `/wallet/<name>`, an error
/// for any other path or a name that does not decode to UTF-8.
pub fn parse(path: &str) -> Result<Option<String>, UnknownPath> {
    if path.is_empty() || path == "/" {
        return Ok(None);
    }
    let encoded = path.strip_prefix(WALLET_BASE).ok_or(UnknownPath)?;
    percent_decode(encoded).map(Some).ok_or(UnknownPath)
}

/// The path of wallet `name`'s endpoint.
pub fn wallet_path(name: &str) -> String {
    let mut out = String::from(WALLET_BASE);
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes (RFC 3986: `+` stays as it is); `None` if one is malformed or the
/// result is not UTF-8.
pub fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_a_wallet_or_none() {
        assert_eq!(parse("/"), Ok(None));
        assert_eq!(parse(""), Ok(None));
        assert_eq!(parse("/wallet/alice"), Ok(Some("alice".into())));
        assert_eq!(parse("/wallet/"), Ok(Some(String::new())));
        assert_eq!(parse("/wallet/my%20wallet"), Ok(Some("my wallet".into())));
        assert_eq!(parse("/wallet/a+b"), Ok(Some("a+b".into())));
        assert_eq!(parse("/rpc"), Err(UnknownPath));
        assert_eq!(parse("/wallet/%zz"), Err(UnknownPath));
        assert_eq!(parse("/wallet/%ff"), Err(UnknownPath));
        assert_eq!(parse("/wallet/%4"), Err(UnknownPath));
    }

    #[test]
    fn names_round_trip_through_their_path() {
        for name in ["default", "my wallet", "ünï/cödé?#%", ""] {
            let path = wallet_path(name);
            assert!(path.bytes().all(|b| b.is_ascii_graphic()), "{path}");
            assert_eq!(parse(&path), Ok(Some(name.to_string())));
        }
    }
}
