//! Kubernetes-style quantities ("500m", "1.5", "512Mi", "2Gi") for CPU and memory requests.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Quantities are parsed exactly as the HPA manifests' are, so the two never disagree.
pub use crate::autoscale::hpa_config::parse_quantity;

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
            Raw::S(s) => match parse_quantity(&s) {
                Ok(v) if v >= 0.0 => Ok(Quantity(v)),
                Ok(_) => Err(serde::de::Error::custom(format!(
                    "expected a non-negative quantity, got {s:?}"
                ))),
                Err(e) => Err(serde::de::Error::custom(e)),
            },
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
        let q = |s: &str| serde_json::from_str::<Quantity>(s);
        assert_eq!(q("\"250m\"").unwrap(), Quantity(0.25));
        assert!(q("\"-1\"").is_err());
        assert!(q("-1").is_err());
        assert!(parse_quantity("abc").is_err());
        assert!(parse_quantity("").is_err());
    }
}
