//! Output descriptors as Bitcoin Core prints them (BIP 380): the text, `#`, and an eight-character
//! checksum over it. Cairn writes `addr(ADDRESS)` for an output with an address, `raw(HEX)` for any
//! other lock, and `pkh(PUBKEY)` for a wallet key whose public key is known.

/// The characters a descriptor may contain, in the order the checksum's expansion numbers them.
const INPUT_CHARSET: &[u8] = b"0123456789()[],'/*abcdefgh@:$%{}IJKLMNOPQRSTUVWXYZ&+-.;<=>?!^_|~ijklmnopqrstuvwxyzABCDEFGH`#\"\\ ";
/// The checksum's alphabet (bech32's).
const CHECKSUM_CHARSET: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const GENERATOR: [u64; 5] = [0xf5dee51989, 0xa9fdca3312, 0x1bab10e32d, 0x3706b1677a, 0x644d626ffd];

fn poly_mod(mut c: u64, value: u64) -> u64 {
    let top = c >> 35;
    c = ((c & 0x7_ffff_ffff) << 5) ^ value;
    for (i, g) in GENERATOR.iter().enumerate() {
        if (top >> i) & 1 == 1 {
            c ^= g;
        }
    }
    c
}

/// The eight-character checksum of `descriptor`, or `None` if it holds a character descriptors
/// cannot contain.
pub fn checksum(descriptor: &str) -> Option<String> {
    let mut c = 1u64;
    let (mut class, mut count) = (0u64, 0);
    for byte in descriptor.bytes() {
        let position = INPUT_CHARSET.iter().position(|&x| x == byte)? as u64;
        c = poly_mod(c, position & 31);
        class = class * 3 + (position >> 5);
        count += 1;
        if count == 3 {
            c = poly_mod(c, class);
            (class, count) = (0, 0);
        }
    }
    if count > 0 {
        c = poly_mod(c, class);
    }
    for _ in 0..8 {
        c = poly_mod(c, 0);
    }
    c ^= 1;
    Some(
        (0..8)
            .map(|j| char::from(CHECKSUM_CHARSET[((c >> (5 * (7 - j))) & 31) as usize]))
            .collect(),
    )
}

/// `descriptor#checksum`; a text descriptors cannot contain is returned as it is.
pub fn with_checksum(descriptor: &str) -> String {
    match checksum(descriptor) {
        Some(sum) => format!("{descriptor}#{sum}"),
        None => descriptor.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_match_bip380_and_cores_tests() {
        // BIP 380's example.
        assert_eq!(with_checksum("raw(deadbeef)"), "raw(deadbeef)#89f8spxm");
        // From Bitcoin Core's descriptor tests (descriptor_tests.cpp).
        assert_eq!(
            checksum(
                "sh(multi(2,[00000000/111'/222]xprvA1RpRA33e1JQ7ifknakTFpgNXPmW2YvmhqLQYMmrj4xJXXWYpDPS3xz7iAxn8L39njGVyuoseXzU6rcxFLJ8HFsTjSyQbLYnMpCqE2VbFWc,xprv9uPDJpEQgRQfDcW7BkF7eTya6RPxXeJCqCJGHuCJ4GiRVLzkTXBAJMu2qaMWPrS7AANYqdq6vcBcBUdJCVVFceUvJFjaPdGZ2y9WACViL4L/0))"
            ),
            Some("ggrsrxfy".to_string())
        );
        assert_eq!(checksum("addr(é)"), None);
        assert_eq!(with_checksum("addr(é)"), "addr(é)");
    }
}
