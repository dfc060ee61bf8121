//! What Meta says of a business number: its quality rating and its messaging tier. Both are
//! read tolerantly (Meta adds values): a rating or tier we do not know is kept as `Unknown`
//! and treated cautiously.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A number's quality rating. Falling to `Red` pauses its broadcasts (the kill switch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum QualityRating {
    Green,
    Yellow,
    Red,
    /// Not rated yet (`NA`).
    NotRated,
    /// Not checked yet, or a value Meta added that we do not know.
    #[default]
    Unknown,
}

impl QualityRating {
    pub const ALL: [QualityRating; 5] = [Self::Green, Self::Yellow, Self::Red, Self::NotRated, Self::Unknown];

    /// The text Meta sends and the database stores.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Green => "GREEN",
            Self::Yellow => "YELLOW",
            Self::Red => "RED",
            Self::NotRated => "NA",
            Self::Unknown => "UNKNOWN",
        }
    }

    /// Any case; anything else is `Unknown`.
    pub fn parse(s: &str) -> Self {
        let s = s.trim().to_ascii_uppercase();
        Self::ALL.into_iter().find(|q| q.as_str() == s).unwrap_or(Self::Unknown)
    }
}

/// How many unique people a number's portfolio may start conversations with in 24 hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MessagingTier {
    Tier250,
    Tier1k,
    Tier2k,
    Tier10k,
    Tier100k,
    Unlimited,
    /// Not checked yet, or a tier we do not know: treated as the smallest.
    #[default]
    Unknown,
}

impl MessagingTier {
    pub const ALL: [MessagingTier; 7] =
        [Self::Tier250, Self::Tier1k, Self::Tier2k, Self::Tier10k, Self::Tier100k, Self::Unlimited, Self::Unknown];

    /// The text Meta sends and the database stores (`""` when not known).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Tier250 => "TIER_250",
            Self::Tier1k => "TIER_1K",
            Self::Tier2k => "TIER_2K",
            Self::Tier10k => "TIER_10K",
            Self::Tier100k => "TIER_100K",
            Self::Unlimited => "TIER_UNLIMITED",
            Self::Unknown => "",
        }
    }

    /// Any case (`UNLIMITED` too); anything else is `Unknown`.
    pub fn parse(s: &str) -> Self {
        let s = s.trim().to_ascii_uppercase();
        if s == "UNLIMITED" {
            return Self::Unlimited;
        }
        Self::ALL.into_iter().find(|t| !t.as_str().is_empty() && t.as_str() == s).unwrap_or(Self::Unknown)
    }

    /// Unique recipients per 24 hours; `None` is unlimited. An unknown tier is the smallest.
    pub const fn limit(self) -> Option<u64> {
        match self {
            Self::Unlimited => None,
            Self::Tier100k => Some(100_000),
            Self::Tier10k => Some(10_000),
            Self::Tier2k => Some(2_000),
            Self::Tier1k => Some(1_000),
            Self::Tier250 | Self::Unknown => Some(250),
        }
    }
}

macro_rules! as_text {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Ok(<$t>::parse(&String::deserialize(d)?))
            }
        }
    };
}

as_text!(QualityRating);
as_text!(MessagingTier);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_and_tiers_read_as_meta_writes_them_and_round_trip() {
        for q in QualityRating::ALL {
            assert_eq!(QualityRating::parse(q.as_str()), q);
        }
        assert_eq!(QualityRating::parse("green"), QualityRating::Green);
        assert_eq!(QualityRating::parse("PURPLE"), QualityRating::Unknown);
        for t in MessagingTier::ALL {
            assert_eq!(MessagingTier::parse(t.as_str()), t);
        }
        assert_eq!(MessagingTier::parse("unlimited"), MessagingTier::Unlimited);
        assert_eq!(MessagingTier::parse("TIER_5M"), MessagingTier::Unknown);
        assert_eq!(MessagingTier::Unknown.limit(), Some(250));
        let json = serde_json::to_string(&(QualityRating::Red, MessagingTier::Tier2k)).unwrap();
        assert_eq!(json, r#"["RED","TIER_2K"]"#);
        assert_eq!(serde_json::from_str::<MessagingTier>(r#""TIER_10K""#).unwrap(), MessagingTier::Tier10k);
    }
}
