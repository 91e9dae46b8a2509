//! Rating scales: how many levels a button or panel offers, and how old ratings map onto a new scale.

use crate::error::{Error, Result};

/// Number of levels; 3 is the usual red/yellow/green loyalty button.
pub const ALLOWED: &[u8] = &[3, 4, 5, 7];
pub const DEFAULT: u8 = 3;

pub fn validate(field: &str, levels: i64) -> Result<u8> {
    ALLOWED
        .iter()
        .copied()
        .find(|&l| i64::from(l) == levels)
        .ok_or_else(|| {
            Error::invalid(
                field,
                format!("{levels} is not a supported rating scale; choose 3, 4, 5 or 7 levels"),
            )
        })
}

pub fn check_score(score: i64, levels: u8) -> Result<u8> {
    if (1..=i64::from(levels)).contains(&score) {
        Ok(score as u8)
    } else {
        Err(Error::invalid(
            "score",
            format!("{score} is outside the rating scale 1..{levels}"),
        ))
    }
}

/// The level on a `to`-level scale closest to `score` given on a `from`-level scale, so that
/// history recorded under an earlier scale still counts (the ends always map to the ends).
pub fn normalize(score: u8, from: u8, to: u8) -> u8 {
    if from == to || from < 2 || to < 2 {
        return score.clamp(1, to.max(1));
    }
    let pos = f64::from(score - 1) / f64::from(from - 1);
    1 + (pos * f64::from(to - 1)).round() as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_scales_are_accepted() {
        for l in [3, 4, 5, 7] {
            assert_eq!(validate("scale", l).unwrap(), l as u8);
        }
        for l in [-1, 0, 1, 2, 6, 10] {
            assert!(validate("scale", l).is_err(), "{l}");
        }
    }

    #[test]
    fn scores_are_checked_against_the_scale() {
        assert!(check_score(0, 3).is_err());
        assert_eq!(check_score(1, 3).unwrap(), 1);
        assert_eq!(check_score(3, 3).unwrap(), 3);
        let err = check_score(4, 3).unwrap_err().to_string();
        assert_eq!(err, "score: 4 is outside the rating scale 1..3");
    }

    #[test]
    fn normalisation_keeps_the_ends_and_the_middle() {
        assert_eq!(normalize(1, 3, 5), 1);
        assert_eq!(normalize(2, 3, 5), 3);
        assert_eq!(normalize(3, 3, 5), 5);
        assert_eq!(normalize(7, 7, 3), 3);
        assert_eq!(normalize(4, 7, 3), 2);
        assert_eq!(normalize(1, 7, 3), 1);
        assert_eq!(normalize(2, 4, 4), 2);
    }
}
