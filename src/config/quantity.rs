//! Kubernetes-style quantities ("500m", "1.5", "512Mi", "2Gi") for CPU and memory requests.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub fn parse_quantity(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let suffixes: [(&str, f64); 13] = [
        ("Ki", 1024.0),
        ("Mi", 1024f64.powi(2)),
        ("Gi", 1024f64.powi(3)),
        ("Ti", 1024f64.powi(4)),
        ("Pi", 1024f64.powi(5)),
        ("Ei", 1024f64.powi(6)),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ];
    let (num, mult) = suffixes
        .iter()
        .find_map(|(suf, m)| t.strip_suffix(suf).map(|n| (n, *m)))
        .unwrap_or((t, 1.0));
    match num.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v * mult),
        _ => Err(format!(
            "expected a quantity such as 500m, 2, 512Mi or 1Gi, got {s:?}"
        )),
    }
}

/// A non-negative quantity that accepts either a number or a Kubernetes quantity string.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Quantity(pub f64);

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(f64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(v) if v >= 0.0 && v.is_finite() => Ok(Quantity(v)),
            Raw::N(v) => Err(serde::de::Error::custom(format!(
                "expected a non-negative quantity, got {v}"
            ))),
            Raw::S(s) => parse_quantity(&s)
                .map(Quantity)
                .map_err(serde::de::Error::custom),
        }
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("500m").unwrap(), 0.5);
        assert_eq!(parse_quantity("2").unwrap(), 2.0);
        assert_eq!(parse_quantity("512Mi").unwrap(), 512.0 * 1024.0 * 1024.0);
        assert_eq!(parse_quantity("1G").unwrap(), 1e9);
        assert!(parse_quantity("-1").is_err());
        assert!(parse_quantity("abc").is_err());
        assert!(parse_quantity("").is_err());
    }
}
