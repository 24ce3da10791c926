//! Consume-queue unit: 20 bytes, big-endian.
//!
//! ```text
//! 0        8          12          20
//! +--------+----------+-----------+
//! | phy off| size i32 | tags i64  |
//! +--------+----------+-----------+
//! ```
//! Java (`ConsumeQueue.putMessagePositionInfo`) writes these; an entry with a negative
//! offset or non-positive size marks the end of the written part during recovery.

pub const UNIT_SIZE: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CqUnit {
    pub phy_offset: i64,
    pub size: i32,
    pub tags_code: i64,
}

impl CqUnit {
    #[must_use]
    pub fn encode(&self) -> [u8; UNIT_SIZE] {
        let mut out = [0u8; UNIT_SIZE];
        out[0..8].copy_from_slice(&self.phy_offset.to_be_bytes());
        out[8..12].copy_from_slice(&self.size.to_be_bytes());
        out[12..20].copy_from_slice(&self.tags_code.to_be_bytes());
        out
    }

    /// None when `data` is shorter than one unit.
    #[must_use]
    pub fn decode(data: &[u8]) -> Option<CqUnit> {
        let unit: &[u8; UNIT_SIZE] = data.get(..UNIT_SIZE)?.try_into().ok()?;
        Some(CqUnit {
            phy_offset: i64::from_be_bytes(unit[0..8].try_into().ok()?),
            size: i32::from_be_bytes(unit[8..12].try_into().ok()?),
            tags_code: i64::from_be_bytes(unit[12..20].try_into().ok()?),
        })
    }

    /// A written entry (recovery stops at the first that is not).
    #[must_use]
    pub fn is_valid(&self) -> bool {
        self.phy_offset >= 0 && self.size > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_short_input() {
        let unit = CqUnit {
            phy_offset: 0x0102_0304_0506,
            size: 123,
            tags_code: -5,
        };
        let bytes = unit.encode();
        assert_eq!(&bytes[..8], &[0, 0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(CqUnit::decode(&bytes), Some(unit));
        assert_eq!(CqUnit::decode(&bytes[..19]), None);
        assert!(!CqUnit::decode(&[0u8; 20]).is_some_and(|u| u.is_valid()));
    }
}
