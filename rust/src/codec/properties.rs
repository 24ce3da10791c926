//! The message property string: `name 0x01 value 0x02 ...` (UTF-8).
//!
//! 4.9.1+ writers omit the trailing 0x02, 4.9.0 writers keep it: both parse. A pair is kept
//! only when name and value are both non-empty, as Java's parser does.

pub const NAME_VALUE_SEPARATOR: u8 = 1;
pub const PROPERTY_SEPARATOR: u8 = 2;

/// Every `(name, value)` pair in order, skipping those Java's parser drops (no separator,
/// empty name or empty value); a repeated name is yielded each time.
#[must_use]
pub fn pairs(props: &[u8]) -> Pairs<'_> {
    Pairs { rest: Some(props) }
}

/// The iterator of [`pairs`]. A hand loop over memchr's word-at-a-time search: a
/// byte-by-byte split cost ~9 instructions a byte, and iterator adapters around memchr
/// most of the rest, paid for every message's property string on every put.
pub struct Pairs<'a> {
    rest: Option<&'a [u8]>,
}

impl<'a> Iterator for Pairs<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let rest = self.rest?;
            let pair = if let Some(end) = memchr::memchr(PROPERTY_SEPARATOR, rest) {
                self.rest = Some(&rest[end + 1..]);
                &rest[..end]
            } else {
                self.rest = None;
                rest
            };
            if let Some(sep) = memchr::memchr(NAME_VALUE_SEPARATOR, pair) {
                let (name, value) = (&pair[..sep], &pair[sep + 1..]);
                if !name.is_empty() && !value.is_empty() {
                    return Some((name, value));
                }
            }
        }
    }
}

/// The value of property `name`, if present and non-empty.
#[must_use]
pub fn find<'a>(props: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    pairs(props)
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Java's `String.hashCode()` of a UTF-8 tag, over UTF-16 code units, sign-extended to i64
/// as the consume queue stores it (`tagsCode`). 0 for no tag.
#[must_use]
pub fn tags_code(tag: &[u8]) -> i64 {
    let text = String::from_utf8_lossy(tag);
    let mut hash: i32 = 0;
    for unit in text.encode_utf16() {
        hash = hash.wrapping_mul(31).wrapping_add(i32::from(unit));
    }
    i64::from(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_values_with_and_without_trailing_separator() {
        let props = b"TAGS\x01TagA\x02KEYS\x01k1 k2\x02UNIQ_KEY\x01AB";
        assert_eq!(find(props, b"TAGS"), Some(&b"TagA"[..]));
        assert_eq!(find(props, b"UNIQ_KEY"), Some(&b"AB"[..]));
        assert_eq!(find(b"TAGS\x01TagA\x02", b"TAGS"), Some(&b"TagA"[..]));
        assert_eq!(find(b"TAGS\x01\x02X", b"TAGS"), None);
        assert_eq!(find(b"", b"TAGS"), None);
    }

    #[test]
    fn tags_code_is_java_string_hash() {
        // Values computed with Java: "TagA".hashCode(), "*".hashCode(), "中文".hashCode().
        assert_eq!(tags_code(b"TagA"), 2_598_919);
        assert_eq!(tags_code(b"*"), 42);
        assert_eq!(tags_code("中文".as_bytes()), 646_394);
        assert_eq!(tags_code(b"a-very-long-tag-that-overflows"), {
            let mut h: i32 = 0;
            for c in "a-very-long-tag-that-overflows".chars() {
                h = h.wrapping_mul(31).wrapping_add(c as i32);
            }
            i64::from(h)
        });
    }
}
