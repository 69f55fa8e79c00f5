//! Recency decay for engagement: a workspace may say that engagement points halve every N days
//! since the lead's last touch. The factor is computed with additions, multiplications and
//! divisions only (no `powf`, whose last bit differs between libm implementations), so a score
//! is bit-for-bit the same natively and on wasm32.

use shared::time::MILLIS_PER_DAY;
use std::fmt;

const MAX_HALF_LIFE_DAYS: f64 = 3_650.0;

/// How many days it takes for engagement points to halve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HalfLife {
    days: f64,
}

impl HalfLife {
    pub fn from_days(days: f64) -> Result<Self, HalfLifeError> {
        if days.is_finite() && days > 0.0 && days <= MAX_HALF_LIFE_DAYS {
            Ok(HalfLife { days })
        } else {
            Err(HalfLifeError { days })
        }
    }

    pub fn days(self) -> f64 {
        self.days
    }

    /// The share of its points an engagement rule keeps `elapsed_millis` after the last touch:
    /// 1 at (or before) the touch, 1/2 one half-life later, 1/4 two half-lives later.
    pub fn factor_after(self, elapsed_millis: i64) -> f64 {
        if elapsed_millis <= 0 {
            return 1.0;
        }
        two_to_the_minus(elapsed_millis as f64 / (self.days * MILLIS_PER_DAY as f64))
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HalfLifeError {
    pub days: f64,
}

impl fmt::Display for HalfLifeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "engagement_half_life_days must be a number of days above 0 and at most {MAX_HALF_LIFE_DAYS}, not {}",
            self.days
        )
    }
}

impl std::error::Error for HalfLifeError {}

/// Points after decay, rounded to whole points (halves away from zero) so that the breakdown
/// adds up exactly to the total it explains.
pub fn decayed_points(points: i32, factor: f64) -> i32 {
    (f64::from(points) * factor).round() as i32
}

/// 2^-x for x >= 0: the whole part goes straight into the exponent bits, the fractional part
/// through the Taylor series of e^-y (y = fraction * ln 2 < 0.7; 20 terms leave a truncation
/// error far below an f64's precision, so the result is within a few units in the last place).
fn two_to_the_minus(x: f64) -> f64 {
    const LARGEST_NORMAL_EXPONENT: f64 = 1_022.0;
    if x.is_nan() || x > LARGEST_NORMAL_EXPONENT {
        return 0.0;
    }
    let whole = x.floor();
    let y = (x - whole) * std::f64::consts::LN_2;
    let mut term = 1.0;
    let mut sum = 1.0;
    for n in 1..=20 {
        term *= -y / f64::from(n);
        sum += term;
    }
    let power_of_two = f64::from_bits(((1_023 - whole as i64) as u64) << 52);
    sum * power_of_two
}

#[cfg(test)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn points_halve_every_half_life() {
        let half_life = HalfLife::from_days(7.0).unwrap();
        let day = MILLIS_PER_DAY;
        assert_eq!(half_life.factor_after(0), 1.0);
        assert_eq!(
            half_life.factor_after(-day),
            1.0,
            "a touch in the future does not boost"
        );
        assert_eq!(half_life.factor_after(7 * day), 0.5);
        assert_eq!(half_life.factor_after(14 * day), 0.25);
        assert_eq!(half_life.factor_after(70 * day), 1.0 / 1024.0);
        assert!(
            (half_life.factor_after(3 * day + day / 2) - std::f64::consts::FRAC_1_SQRT_2).abs()
                < 1e-15
        );
        assert_eq!(half_life.factor_after(i64::MAX), 0.0);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn the_series_agrees_with_powf() {
        for step in 0..4_000 {
            let x = f64::from(step) * 0.01;
            let expected = 2f64.powf(-x);
            let relative_error = (two_to_the_minus(x) - expected).abs() / expected;
            assert!(
                relative_error < 1e-15,
                "2^-{x}: {} vs {expected}",
                two_to_the_minus(x)
            );
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn decayed_points_round_halves_away_from_zero() {
        assert_eq!(decayed_points(15, 0.5), 8);
        assert_eq!(decayed_points(5, 0.5), 3);
        assert_eq!(decayed_points(1, 0.5), 1);
        assert_eq!(decayed_points(1, 0.49), 0);
        assert_eq!(decayed_points(-5, 0.5), -3);
        assert_eq!(decayed_points(40, 0.25), 10);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn half_lives_outside_the_range_are_refused() {
        for days in [0.0, -1.0, 3_651.0, f64::NAN, f64::INFINITY] {
            assert!(
                HalfLife::from_days(days).is_err(),
                "{days} should be refused"
            );
        }
        assert_eq!(HalfLife::from_days(0.5).unwrap().days(), 0.5);
        assert_eq!(HalfLife::from_days(3_650.0).unwrap().days(), 3_650.0);
    }
}
