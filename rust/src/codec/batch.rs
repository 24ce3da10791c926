//! The body of SEND_BATCH_MESSAGE (Java `MessageDecoder.encodeMessages`): per message
//! `total, magic, crc, flag, body length, body, properties length (i16), properties`.
//!
//! Split here rather than in Python because a batch of small messages spent most of its
//! broker time in per-element Python work (decode, property merge, one tuple each).

use std::fmt;

use crate::codec::properties::{self, NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR};

const HEAD: usize = 20;
/// Dropped from every stored message (4.9.3+): it only steers the broker's answer.
const WAIT: &[u8] = b"WAIT";
/// Set on every stored message to the broker's cluster name.
const CLUSTER: &[u8] = b"CLUSTER";

/// A batch body that does not hold whole, well-formed elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchError(pub String);

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BatchError {}

/// One element, borrowed from the body.
#[derive(Debug, PartialEq, Eq)]
pub struct Element<'a> {
    pub flag: i32,
    pub body: &'a [u8],
    pub properties: &'a [u8],
}

fn be_i32(data: &[u8], at: usize) -> i32 {
    i32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]])
}

/// Every element of `data`.
///
/// # Errors
/// Why the body is malformed; an empty body is an error too, since a batch that stores
/// nothing would still be answered as sent.
pub fn decode(data: &[u8]) -> Result<Vec<Element<'_>>, BatchError> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < data.len() {
        if data.len() - pos < HEAD + 2 {
            return Err(BatchError(format!("batch element at {pos} is cut short")));
        }
        let total = be_i32(data, pos);
        let flag = be_i32(data, pos + 12);
        let body_len = be_i32(data, pos + 16);
        let end = usize::try_from(total)
            .ok()
            .filter(|t| *t >= HEAD + 2)
            .and_then(|t| pos.checked_add(t))
            .filter(|e| *e <= data.len());
        let (Some(end), Ok(body_len)) = (end, usize::try_from(body_len)) else {
            return Err(BatchError(format!(
                "batch element at {pos} has a bad size {total}"
            )));
        };
        let body_at = pos + HEAD;
        let props_at = body_at.saturating_add(body_len);
        if props_at.saturating_add(2) > end {
            return Err(BatchError(format!(
                "batch element at {pos} has a bad body length {body_len}"
            )));
        }
        let props_len = i16::from_be_bytes([data[props_at], data[props_at + 1]]);
        if usize::try_from(props_len).map_or(true, |n| props_at + 2 + n != end) {
            return Err(BatchError(format!(
                "batch element at {pos} has a bad properties length"
            )));
        }
        let properties = &data[props_at + 2..end];
        if std::str::from_utf8(properties).is_err() {
            return Err(BatchError(format!(
                "batch element at {pos} has properties that are not UTF-8"
            )));
        }
        out.push(Element {
            flag,
            body: &data[body_at..props_at],
            properties,
        });
        pos = end;
    }
    if out.is_empty() {
        return Err(BatchError("the batch body holds no message".to_owned()));
    }
    Ok(out)
}

type Pairs<'a> = Vec<(&'a [u8], &'a [u8])>;

/// Parsed as the broker's property parser does: pairs with an empty name or value are
/// dropped, a repeated name keeps its first place and its last value.
#[must_use]
pub fn parse(props: &[u8]) -> Pairs<'_> {
    let mut out: Pairs<'_> = Vec::new();
    for (name, value) in properties::pairs(props) {
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => out.push((name, value)),
        }
    }
    out
}

/// The property string stored for one element: its own pairs without WAIT, then each
/// `shared` pair (the request's properties) it lacks, then CLUSTER set to `cluster`.
#[must_use]
pub fn stored_properties(element: &[u8], shared: &[(&[u8], &[u8])], cluster: &[u8]) -> Vec<u8> {
    let mut pairs = parse(element);
    pairs.retain(|(n, _)| *n != WAIT);
    for &(name, value) in shared {
        if name != WAIT && !pairs.iter().any(|(n, _)| *n == name) {
            pairs.push((name, value));
        }
    }
    match pairs.iter_mut().find(|(n, _)| *n == CLUSTER) {
        Some(slot) => slot.1 = cluster,
        None => pairs.push((CLUSTER, cluster)),
    }
    let mut out = Vec::with_capacity(element.len() + cluster.len() + 16);
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(PROPERTY_SEPARATOR);
        }
        out.extend_from_slice(name);
        out.push(NAME_VALUE_SEPARATOR);
        out.extend_from_slice(value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn element(flag: i32, body: &[u8], props: &[u8]) -> Vec<u8> {
        let total = i32::try_from(HEAD + body.len() + 2 + props.len()).unwrap();
        let mut out = Vec::new();
        out.extend_from_slice(&total.to_be_bytes());
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&flag.to_be_bytes());
        out.extend_from_slice(&i32::try_from(body.len()).unwrap().to_be_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(&i16::try_from(props.len()).unwrap().to_be_bytes());
        out.extend_from_slice(props);
        out
    }

    #[test]
    fn decodes_every_element() {
        let mut data = element(7, b"one", b"KEYS\x01a");
        data.extend(element(0, b"", b""));
        let got = decode(&data).unwrap();
        assert_eq!(
            got,
            vec![
                Element {
                    flag: 7,
                    body: b"one",
                    properties: b"KEYS\x01a"
                },
                Element {
                    flag: 0,
                    body: b"",
                    properties: b""
                },
            ]
        );
    }

    #[test]
    fn rejects_malformed_bodies() {
        let good = element(0, b"body", b"K\x01v");
        assert!(decode(b"").unwrap_err().0.contains("no message"));
        assert!(decode(&good[..10]).unwrap_err().0.contains("cut short"));
        assert!(decode(&good[..good.len() - 1])
            .unwrap_err()
            .0
            .contains("bad size"));
        let mut negative = good.clone();
        negative[16..20].copy_from_slice(&(-1i32).to_be_bytes());
        assert!(decode(&negative).unwrap_err().0.contains("bad size"));
        let mut long_body = good.clone();
        long_body[16..20].copy_from_slice(&100i32.to_be_bytes());
        assert!(decode(&long_body)
            .unwrap_err()
            .0
            .contains("bad body length"));
        let mut props_len = good.clone();
        props_len[24..26].copy_from_slice(&1i16.to_be_bytes());
        assert!(decode(&props_len)
            .unwrap_err()
            .0
            .contains("properties length"));
        let bad_utf8 = element(0, b"x", b"K\x01\xff");
        assert!(decode(&bad_utf8).unwrap_err().0.contains("UTF-8"));
    }

    #[test]
    fn stored_properties_merge_as_the_broker_does() {
        let shared = parse(b"WAIT\x01true\x02TAGS\x01shared\x02KEYS\x01k");
        let got = stored_properties(
            b"TAGS\x01own\x02WAIT\x01false\x02A\x01\x02A\x01x",
            &shared,
            b"c1",
        );
        assert_eq!(got, b"TAGS\x01own\x02A\x01x\x02KEYS\x01k\x02CLUSTER\x01c1");
        let replaced = stored_properties(b"CLUSTER\x01other\x02B\x01b", &[], b"c1");
        assert_eq!(replaced, b"CLUSTER\x01c1\x02B\x01b");
        assert_eq!(stored_properties(b"", &[], b"c"), b"CLUSTER\x01c");
    }

    #[test]
    fn repeated_names_keep_their_first_place_and_last_value() {
        assert_eq!(
            parse(b"A\x011\x02B\x012\x02A\x013\x02"),
            vec![(&b"A"[..], &b"3"[..]), (&b"B"[..], &b"2"[..])]
        );
    }
}
