//! CommitLog message records (Java: `CommitLog.MessageExtEncoder`, `checkMessageAndReturnSize`).
//!
//! ```text
//! off  size  field                      off  size  field
//!  0    4    TOTALSIZE                   48  8|20  BORNHOST (ip + port; v6 if sysflag 0x10)
//!  4    4    MAGICCODE 0xDAA320A7         ..   8    STORETIMESTAMP
//!  8    4    BODYCRC (crc32 & 0x7FFFFFFF) ..  8|20  STOREHOST (v6 if sysflag 0x20)
//! 12    4    QUEUEID                      ..   4    RECONSUMETIMES
//! 16    4    FLAG                         ..   8    PREPARED TRANSACTION OFFSET
//! 20    8    QUEUEOFFSET                  ..  4+n   BODY
//! 28    8    PHYSICALOFFSET               ..  1+t   TOPIC (signed 1-byte length)
//! 36    4    SYSFLAG                      ..  2+p   PROPERTIES (signed 2-byte length)
//! 40    8    BORNTIMESTAMP
//! ```
//! All big-endian. A segment ends with an 8-byte filler: TOTALSIZE = bytes left in the
//! segment, MAGICCODE 0xCBD43194. Encoding and decoding are pure; callers own the locking.

use crate::codec::properties;

pub const MESSAGE_MAGIC: i32 = i32::from_be_bytes(0xDAA3_20A7_u32.to_be_bytes());
pub const BLANK_MAGIC: i32 = i32::from_be_bytes(0xCBD4_3194_u32.to_be_bytes());
pub const END_FILE_MIN_BLANK_LENGTH: usize = 8;
pub const BORNHOST_V6_FLAG: i32 = 0x10;
pub const STOREHOST_V6_FLAG: i32 = 0x20;
pub const TRANSACTION_TYPE_MASK: i32 = 0xC;
pub const TRANSACTION_PREPARED: i32 = 0x4;
pub const TRANSACTION_ROLLBACK: i32 = 0xC;
pub const MAX_TOPIC_LEN: usize = 127;
pub const MAX_PROPERTIES_LEN: usize = 32767;

pub const OFF_QUEUE_OFFSET: usize = 20;
pub const OFF_PHYSICAL_OFFSET: usize = 28;
pub const OFF_SYSFLAG: usize = 36;
pub const OFF_BORN_HOST: usize = 48;

/// What a producer's message becomes before the store assigns offsets and times.
#[derive(Debug, Clone, Default)]
pub struct MessageInput {
    pub topic: String,
    pub queue_id: i32,
    pub flag: i32,
    pub body: Vec<u8>,
    pub properties: Vec<u8>,
    pub sys_flag: i32,
    pub born_timestamp: i64,
    /// 8 bytes (IPv4 + port) or 20 (IPv6 + port); the matching sysflag bit is set from it.
    pub born_host: Vec<u8>,
    pub store_host: Vec<u8>,
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
}

/// A message borrowed from wherever it lives (a [`MessageInput`], the Python objects of a
/// put, the elements of a batch body): encoding reads it once, so it is never copied first.
#[derive(Debug, Clone, Copy)]
pub struct MessageRef<'a> {
    pub topic: &'a str,
    pub queue_id: i32,
    pub flag: i32,
    pub body: &'a [u8],
    pub properties: &'a [u8],
    pub sys_flag: i32,
    pub born_timestamp: i64,
    pub born_host: &'a [u8],
    pub store_host: &'a [u8],
    pub reconsume_times: i32,
    pub prepared_transaction_offset: i64,
}

impl<'a> From<&'a MessageInput> for MessageRef<'a> {
    fn from(m: &'a MessageInput) -> Self {
        MessageRef {
            topic: &m.topic,
            queue_id: m.queue_id,
            flag: m.flag,
            body: &m.body,
            properties: &m.properties,
            sys_flag: m.sys_flag,
            born_timestamp: m.born_timestamp,
            born_host: &m.born_host,
            store_host: &m.store_host,
            reconsume_times: m.reconsume_times,
            prepared_transaction_offset: m.prepared_transaction_offset,
        }
    }
}

impl<'x, 'a: 'x> From<&'x MessageRef<'a>> for MessageRef<'x> {
    fn from(m: &'x MessageRef<'a>) -> Self {
        *m
    }
}

/// Why a message cannot be stored; maps to Java's PutMessageStatus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    MessageIllegal,
    PropertiesSizeExceeded,
}

fn host_len(sys_flag: i32, bit: i32) -> usize {
    if sys_flag & bit == 0 {
        8
    } else {
        20
    }
}

/// Record length for the given field sizes (Java: `calMsgLength`).
#[must_use]
pub fn record_len(sys_flag: i32, body: usize, topic: usize, props: usize) -> usize {
    4 + 4
        + 4
        + 4
        + 4
        + 8
        + 8
        + 4
        + 8
        + host_len(sys_flag, BORNHOST_V6_FLAG)
        + 8
        + host_len(sys_flag, STOREHOST_V6_FLAG)
        + 4
        + 8
        + 4
        + body
        + 1
        + topic
        + 2
        + props
}

/// A record encoded but for the fields assigned under the put lock.
#[derive(Debug, Clone)]
pub struct PreEncoded {
    pub bytes: Vec<u8>,
    pub store_timestamp_at: usize,
    pub tags_code: i64,
    pub topic: String,
    pub queue_id: i32,
    pub sys_flag: i32,
    /// KEYS and UNIQ_KEY, for the index: dispatch of a record just encoded takes them from
    /// here instead of parsing the record again.
    pub keys: Option<String>,
    pub uniq_key: Option<String>,
}

impl PreEncoded {
    /// What dispatch needs of this record once stamped with its offsets and store time
    /// (the encoded bytes stay behind).
    #[must_use]
    pub fn into_info(self, queue_offset: i64, phy_offset: i64, store_timestamp: i64) -> RecordInfo {
        RecordInfo {
            size: self.bytes.len(),
            topic: self.topic,
            queue_id: self.queue_id,
            queue_offset,
            phy_offset,
            sys_flag: self.sys_flag,
            store_timestamp,
            tags_code: self.tags_code,
            keys: self.keys,
            uniq_key: self.uniq_key,
        }
    }
}

/// The TAGS, KEYS and UNIQ_KEY values (the first of each, as `find` gives), in one walk
/// over the pairs: a walk per name measured as a tenth of a put.
fn dispatch_properties(props: &[u8]) -> [Option<&[u8]>; 3] {
    let mut found = [None; 3];
    for (name, value) in properties::pairs(props) {
        let slot = match name {
            b"TAGS" => 0,
            b"KEYS" => 1,
            b"UNIQ_KEY" => 2,
            _ => continue,
        };
        found[slot].get_or_insert(value);
    }
    found
}

fn normalized_sys_flag(input: &MessageRef<'_>) -> i32 {
    let mut flag = input.sys_flag & !(BORNHOST_V6_FLAG | STOREHOST_V6_FLAG);
    if input.born_host.len() == 20 {
        flag |= BORNHOST_V6_FLAG;
    }
    if input.store_host.len() == 20 {
        flag |= STOREHOST_V6_FLAG;
    }
    flag
}

/// Encode `input` with zeros where the queue offset, physical offset and store timestamp go.
///
/// # Errors
/// A refusal when the message breaks a size rule; nothing is written then.
pub fn pre_encode<'a>(
    input: impl Into<MessageRef<'a>>,
    max_body: usize,
) -> Result<PreEncoded, Refusal> {
    pre_encode_for(input, max_body, true)
}

/// [`pre_encode`], gathering KEYS and UNIQ_KEY for the index only when `index_keys`
/// (`messageIndexEnable`): without an index they would be copied for nothing.
///
/// # Errors
/// As [`pre_encode`].
pub fn pre_encode_for<'a>(
    input: impl Into<MessageRef<'a>>,
    max_body: usize,
    index_keys: bool,
) -> Result<PreEncoded, Refusal> {
    let input = input.into();
    let topic = input.topic.as_bytes();
    if topic.is_empty() || topic.len() > MAX_TOPIC_LEN || input.body.len() > max_body {
        return Err(Refusal::MessageIllegal);
    }
    if input.properties.len() > MAX_PROPERTIES_LEN {
        return Err(Refusal::PropertiesSizeExceeded);
    }
    if !matches!(input.born_host.len(), 8 | 20) || !matches!(input.store_host.len(), 8 | 20) {
        return Err(Refusal::MessageIllegal);
    }
    let sys_flag = normalized_sys_flag(&input);
    let len = record_len(
        sys_flag,
        input.body.len(),
        topic.len(),
        input.properties.len(),
    );
    let mut out = Vec::with_capacity(len);
    let total = i32::try_from(len).map_err(|_| Refusal::MessageIllegal)?;
    let body_len = i32::try_from(input.body.len()).map_err(|_| Refusal::MessageIllegal)?;
    out.extend_from_slice(&total.to_be_bytes());
    out.extend_from_slice(&MESSAGE_MAGIC.to_be_bytes());
    let crc = crc32fast::hash(input.body) & 0x7FFF_FFFF;
    out.extend_from_slice(&crc.to_be_bytes());
    out.extend_from_slice(&input.queue_id.to_be_bytes());
    out.extend_from_slice(&input.flag.to_be_bytes());
    out.extend_from_slice(&0i64.to_be_bytes()); // queue offset, assigned under the lock
    out.extend_from_slice(&0i64.to_be_bytes()); // physical offset, assigned under the lock
    out.extend_from_slice(&sys_flag.to_be_bytes());
    out.extend_from_slice(&input.born_timestamp.to_be_bytes());
    out.extend_from_slice(input.born_host);
    let store_timestamp_at = out.len();
    out.extend_from_slice(&0i64.to_be_bytes()); // store timestamp, assigned under the lock
    out.extend_from_slice(input.store_host);
    out.extend_from_slice(&input.reconsume_times.to_be_bytes());
    out.extend_from_slice(&input.prepared_transaction_offset.to_be_bytes());
    out.extend_from_slice(&body_len.to_be_bytes());
    out.extend_from_slice(input.body);
    // Both lengths were checked above, so the narrowing casts cannot truncate.
    out.push(u8::try_from(topic.len()).map_err(|_| Refusal::MessageIllegal)?);
    out.extend_from_slice(topic);
    let props_len = u16::try_from(input.properties.len()).map_err(|_| Refusal::MessageIllegal)?;
    out.extend_from_slice(&props_len.to_be_bytes());
    out.extend_from_slice(input.properties);
    debug_assert_eq!(out.len(), len);
    let [tags, mut keys, mut uniq] = dispatch_properties(input.properties);
    if !index_keys {
        (keys, uniq) = (None, None);
    }
    Ok(PreEncoded {
        bytes: out,
        store_timestamp_at,
        tags_code: tags.map_or(0, properties::tags_code),
        topic: input.topic.to_owned(),
        queue_id: input.queue_id,
        sys_flag,
        keys: keys.map(owned_text),
        uniq_key: uniq.map(owned_text),
    })
}

/// Fill in the fields assigned under the put lock.
pub fn stamp(record: &mut [u8], at: usize, queue_offset: i64, phy_offset: i64, store_ts: i64) {
    record[OFF_QUEUE_OFFSET..OFF_QUEUE_OFFSET + 8].copy_from_slice(&queue_offset.to_be_bytes());
    record[OFF_PHYSICAL_OFFSET..OFF_PHYSICAL_OFFSET + 8].copy_from_slice(&phy_offset.to_be_bytes());
    record[at..at + 8].copy_from_slice(&store_ts.to_be_bytes());
}

/// Whether `head` starts with an end-of-segment filler.
#[must_use]
pub fn is_blank(head: &[u8]) -> bool {
    head.get(4..8) == Some(&BLANK_MAGIC.to_be_bytes()[..])
}

/// Store timestamp of the record starting at `head[0]`, if it is a message record.
#[must_use]
pub fn store_timestamp_of(head: &[u8]) -> Option<i64> {
    let word = |at: usize, n: usize| head.get(at..at + n);
    let magic = i32::from_be_bytes(word(4, 4)?.try_into().ok()?);
    if magic != MESSAGE_MAGIC {
        return None;
    }
    let sys_flag = i32::from_be_bytes(word(OFF_SYSFLAG, 4)?.try_into().ok()?);
    let born_host = if sys_flag & BORNHOST_V6_FLAG == 0 {
        8
    } else {
        20
    };
    let at = OFF_BORN_HOST + born_host;
    Some(i64::from_be_bytes(word(at, 8)?.try_into().ok()?))
}

/// The end-of-segment filler.
#[must_use]
pub fn blank(bytes_left: usize) -> [u8; END_FILE_MIN_BLANK_LENGTH] {
    let mut out = [0u8; END_FILE_MIN_BLANK_LENGTH];
    out[..4].copy_from_slice(&i32::try_from(bytes_left).unwrap_or(i32::MAX).to_be_bytes());
    out[4..].copy_from_slice(&BLANK_MAGIC.to_be_bytes());
    out
}

/// What dispatch and recovery need from one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordInfo {
    pub size: usize,
    pub topic: String,
    pub queue_id: i32,
    pub queue_offset: i64,
    pub phy_offset: i64,
    pub sys_flag: i32,
    pub store_timestamp: i64,
    pub tags_code: i64,
    pub keys: Option<String>,
    pub uniq_key: Option<String>,
}

/// `bytes` as a String, invalid UTF-8 replaced; the valid case (every record a client
/// sends) skips the lossy decoder's chunk walk.
fn owned_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Only NOT and COMMIT messages get a queue offset and a consume-queue entry.
#[must_use]
pub fn goes_to_queue(sys_flag: i32) -> bool {
    let t = sys_flag & TRANSACTION_TYPE_MASK;
    t != TRANSACTION_PREPARED && t != TRANSACTION_ROLLBACK
}

/// The outcome of looking at the bytes at some position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    Record(RecordInfo),
    /// End-of-segment filler: continue at the next segment.
    Blank,
    /// The record (or its header) continues past the bytes given: wait for more.
    Incomplete,
    /// Not a valid record (zeros after the last record, a torn write, bad CRC).
    Invalid(&'static str),
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let out = self.data.get(self.pos..self.pos + n)?;
        self.pos += n;
        Some(out)
    }
    fn i32(&mut self) -> Option<i32> {
        Some(i32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }
    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }
}

/// Validate the record at the start of `data` (Java: `checkMessageAndReturnSize`).
#[must_use]
pub fn check(data: &[u8], check_crc: bool) -> Check {
    let mut r = Reader { data, pos: 0 };
    let (Some(total), Some(magic)) = (r.i32(), r.i32()) else {
        return Check::Incomplete;
    };
    if magic == BLANK_MAGIC {
        return Check::Blank;
    }
    if magic != MESSAGE_MAGIC {
        return Check::Invalid("bad magic code");
    }
    let Ok(total) = usize::try_from(total) else {
        return Check::Invalid("negative size");
    };
    if total > data.len() {
        return Check::Incomplete;
    }
    let mut parse = || -> Option<(RecordInfo, u32, std::ops::Range<usize>)> {
        let body_crc = u32::try_from(r.i32()?).ok()?;
        let queue_id = r.i32()?;
        let _flag = r.i32()?;
        let queue_offset = r.i64()?;
        let phy_offset = r.i64()?;
        let sys_flag = r.i32()?;
        let _born_ts = r.i64()?;
        r.take(host_len(sys_flag, BORNHOST_V6_FLAG))?;
        let store_timestamp = r.i64()?;
        r.take(host_len(sys_flag, STOREHOST_V6_FLAG))?;
        let _reconsume = r.i32()?;
        let _prepared = r.i64()?;
        let body_len = usize::try_from(r.i32()?).ok()?;
        let body_at = r.pos;
        r.take(body_len)?;
        let topic_len = usize::from(r.take(1)?[0]);
        let topic = owned_text(r.take(topic_len)?);
        let props_len = usize::try_from(i16::from_be_bytes(r.take(2)?.try_into().ok()?)).ok()?;
        let props = r.take(props_len)?;
        let calc = record_len(sys_flag, body_len, topic_len, props_len);
        if calc != total {
            return None;
        }
        let [tags, keys, uniq] = dispatch_properties(props);
        let info = RecordInfo {
            size: total,
            topic,
            queue_id,
            queue_offset,
            phy_offset,
            sys_flag,
            store_timestamp,
            tags_code: tags.map_or(0, properties::tags_code),
            keys: keys.map(owned_text),
            uniq_key: uniq.map(owned_text),
        };
        Some((info, body_crc, body_at..body_at + body_len))
    };
    let Some((info, body_crc, body)) = parse() else {
        return Check::Invalid("field lengths do not add up to the record size");
    };
    if check_crc && crc32fast::hash(&data[body]) & 0x7FFF_FFFF != body_crc {
        return Check::Invalid("body CRC mismatch");
    }
    Check::Record(info)
}

/// The property bytes of a whole record, without validating the rest (a SQL92 filter reads
/// them for every scanned message).
#[must_use]
pub fn properties_of(record: &[u8]) -> Option<&[u8]> {
    let sys_flag = i32::from_be_bytes(record.get(OFF_SYSFLAG..OFF_SYSFLAG + 4)?.try_into().ok()?);
    let mut at = OFF_BORN_HOST + host_len(sys_flag, BORNHOST_V6_FLAG) + 8;
    at += host_len(sys_flag, STOREHOST_V6_FLAG) + 4 + 8;
    let body_len = i32::from_be_bytes(record.get(at..at + 4)?.try_into().ok()?);
    at += 4 + usize::try_from(body_len).ok()?;
    at += 1 + usize::from(*record.get(at)?);
    let props_len = i16::from_be_bytes(record.get(at..at + 2)?.try_into().ok()?);
    at += 2;
    record.get(at..at + usize::try_from(props_len).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample(topic: &str, body: &[u8], props: &[u8]) -> MessageInput {
        MessageInput {
            topic: topic.to_string(),
            queue_id: 3,
            flag: 7,
            body: body.to_vec(),
            properties: props.to_vec(),
            sys_flag: 0,
            born_timestamp: 1_700_000_000_000,
            born_host: vec![127, 0, 0, 1, 0, 0, 0x30, 0x39],
            store_host: vec![10, 0, 0, 1, 0, 0, 0x2A, 0x9F],
            reconsume_times: 0,
            prepared_transaction_offset: 0,
        }
    }

    #[test]
    fn encode_then_check_round_trips() {
        let input = sample("TopicTest", b"hello", b"TAGS\x01TagA\x02KEYS\x01k1");
        let mut pre = pre_encode(&input, 1024).unwrap();
        assert_eq!(pre.bytes.len(), 91 + 5 + 9 + 17);
        stamp(
            &mut pre.bytes,
            pre.store_timestamp_at,
            5,
            4096,
            1_700_000_000_123,
        );
        let Check::Record(info) = check(&pre.bytes, true) else {
            panic!("not a record")
        };
        assert_eq!(info.topic, "TopicTest");
        assert_eq!(
            (info.queue_id, info.queue_offset, info.phy_offset),
            (3, 5, 4096)
        );
        assert_eq!(info.store_timestamp, 1_700_000_000_123);
        assert_eq!(info.tags_code, 2_598_919);
        assert_eq!(info.keys.as_deref(), Some("k1"));
    }

    #[test]
    fn crc_mismatch_and_truncation_are_invalid() {
        let mut pre = pre_encode(&sample("T", b"body!", b""), 1024).unwrap();
        let n = pre.bytes.len();
        assert_eq!(check(&pre.bytes[..n - 1], false), Check::Incomplete);
        pre.bytes[n - 6] ^= 0xFF; // inside the body (topic "T" and empty props follow)
        assert_eq!(check(&pre.bytes, true), Check::Invalid("body CRC mismatch"));
        assert!(matches!(check(&pre.bytes, false), Check::Record(_)));
        assert_eq!(check(&[0u8; 64], false), Check::Invalid("bad magic code"));
        assert_eq!(check(&blank(100), false), Check::Blank);
    }

    #[test]
    fn keys_are_gathered_only_for_an_index() {
        let input = sample("T", b"x", b"TAGS\x01TagA\x02KEYS\x01k1\x02UNIQ_KEY\x01u1");
        let with = pre_encode_for(&input, 1024, true).unwrap();
        let without = pre_encode_for(&input, 1024, false).unwrap();
        assert_eq!(
            (with.keys.as_deref(), with.uniq_key.as_deref()),
            (Some("k1"), Some("u1"))
        );
        assert_eq!((without.keys, without.uniq_key), (None, None));
        assert_eq!(without.tags_code, with.tags_code);
        assert_eq!(without.bytes, with.bytes);
    }

    #[test]
    fn ipv6_hosts_set_sysflag_bits() {
        let mut input = sample("T", b"x", b"");
        input.born_host = vec![0; 20];
        let pre = pre_encode(&input, 1024).unwrap();
        assert_eq!(pre.sys_flag & BORNHOST_V6_FLAG, BORNHOST_V6_FLAG);
        assert_eq!(pre.bytes.len(), 91 + 1 + 1 + 12);
        assert!(matches!(check(&pre.bytes, true), Check::Record(_)));
    }

    #[test]
    fn size_rules_refuse() {
        assert_eq!(
            pre_encode(&sample("T", &[0; 11], b""), 10).unwrap_err(),
            Refusal::MessageIllegal
        );
        assert_eq!(
            pre_encode(&sample(&"t".repeat(128), b"", b""), 10).unwrap_err(),
            Refusal::MessageIllegal
        );
        let props = vec![b'a'; 32768];
        assert_eq!(
            pre_encode(&sample("T", b"", &props), 10).unwrap_err(),
            Refusal::PropertiesSizeExceeded
        );
    }
}
