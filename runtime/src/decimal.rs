//! Decimal comparison and rounding, one implementation for every evaluator (the interpreter,
//! the closure evaluator, native code): exact, as `rust_decimal` decides, and in `i128` where
//! its own 96-bit arithmetic would cost several times more. The tests compare both ways on
//! every sign, scale and rounding strategy.

use std::cmp::Ordering;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// Powers of ten up to the largest scale of a decimal (28).
pub(crate) const POWERS_OF_TEN: [i128; 29] = {
    let mut powers = [1i128; 29];
    let mut k = 1;
    while k < 29 {
        powers[k] = powers[k - 1] * 10;
        k += 1;
    }
    powers
};

/// The order of two decimals, as `Decimal::cmp` gives it, in a few instructions.
///
/// Rationale: `rust_decimal` compares decimals of different scales by rescaling one in its own
/// 96-bit arithmetic, which costs about a hundred instructions; a per-capita income divided by
/// a subsistence minimum has 20 or more decimal places and meets bounds of two, in every band
/// lookup. Here the mantissa of smaller scale is multiplied up in `i128`: exact, since a
/// mantissa is below 2^96; a product beyond `i128` is larger in magnitude than any mantissa,
/// so its sign decides. Zero of either sign has mantissa 0, so `-0 = 0` as in `rust_decimal`.
#[inline]
pub fn cmp_dec(left: Decimal, right: Decimal) -> Ordering {
    let (left_mantissa, left_scale) = (left.mantissa(), left.scale());
    let (right_mantissa, right_scale) = (right.mantissa(), right.scale());
    let up = |mantissa: i128, by: u32| -> Option<i128> {
        POWERS_OF_TEN
            .get(by as usize)
            .and_then(|power| product(mantissa, *power))
    };
    match left_scale.cmp(&right_scale) {
        Ordering::Equal => left_mantissa.cmp(&right_mantissa),
        Ordering::Less => match up(left_mantissa, right_scale - left_scale) {
            Some(scaled) => scaled.cmp(&right_mantissa),
            None if left_mantissa < 0 => Ordering::Less,
            None => Ordering::Greater,
        },
        Ordering::Greater => match up(right_mantissa, left_scale - right_scale) {
            Some(scaled) => left_mantissa.cmp(&scaled),
            None if right_mantissa < 0 => Ordering::Greater,
            None => Ordering::Less,
        },
    }
}

/// Rounding to `places` decimal places with a named strategy, rescaled to exactly that many
/// places, as every evaluator rounds: what `round_dp_with_strategy`, then `rescale`, give.
///
/// Rationale: `rust_decimal` rounds in its own 96-bit arithmetic, about 150 instructions; the
/// ASP rounds money to whole tenge several times a case. Here the mantissa is divided in
/// `i128` and the remainder decides, by the named strategy, exactly as `rust_decimal` decides
/// (the tests below compare the two on every strategy, sign and scale); the rare cases this
/// does not cover (more than 28 places, or a zero result of a negative number, whose sign
/// `rust_decimal` keeps) go to `rust_decimal` itself.
#[inline]
pub fn round(value: Decimal, places: u32, mode: RoundingMode) -> Decimal {
    let scale = value.scale();
    if places <= 28 && scale > places {
        if let Some(rounded) = round_mantissa(value.mantissa(), scale - places, mode) {
            if (rounded != 0 || !value.is_sign_negative())
                && rounded.unsigned_abs() <= LARGEST_MANTISSA
            {
                return decimal_of_parts(rounded, places);
            }
        }
    }
    if places <= 28 && scale <= places {
        // Already a whole number of `places`ths: only the scale grows (a sign of zero kept, as
        // `rescale` keeps it).
        let grown = POWERS_OF_TEN
            .get((places - scale) as usize)
            .and_then(|power| product(value.mantissa(), *power));
        if let Some(mantissa) = grown {
            if mantissa.unsigned_abs() <= LARGEST_MANTISSA
                && (mantissa != 0 || !value.is_sign_negative())
            {
                return decimal_of_parts(mantissa, places);
            }
        }
    }
    let mut rounded = value.round_dp_with_strategy(places, rounding_strategy(mode));
    rounded.rescale(places);
    rounded
}

/// `mantissa` divided by 10^`digits`, rounded by `mode`.
#[inline]
fn round_mantissa(mantissa: i128, digits: u32, mode: RoundingMode) -> Option<i128> {
    let divisor = *POWERS_OF_TEN.get(digits as usize)?;
    if let (Ok(small_mantissa), Ok(small_divisor)) =
        (i64::try_from(mantissa), i64::try_from(divisor))
    {
        return Some(i128::from(round_small_mantissa(
            small_mantissa,
            small_divisor,
            mode,
        )));
    }
    let quotient = mantissa / divisor;
    let remainder = (mantissa % divisor).abs();
    if remainder == 0 {
        return Some(quotient);
    }
    let away = if mantissa < 0 { -1 } else { 1 };
    Some(
        if rounds_away(mode, (remainder * 2).cmp(&divisor), quotient % 2 != 0) {
            quotient + away
        } else {
            quotient
        },
    )
}

/// [`round_mantissa`] in 64 bits, where division is one instruction (an `i128` division is a
/// library call): a mantissa of money or of a per-capita income, a divisor up to 10^18. Twice
/// the remainder is below 2 × 10^18, within `i64`.
#[inline]
fn round_small_mantissa(mantissa: i64, divisor: i64, mode: RoundingMode) -> i64 {
    let quotient = mantissa / divisor;
    let remainder = (mantissa % divisor).abs();
    if remainder == 0 {
        return quotient;
    }
    let away = if mantissa < 0 { -1 } else { 1 };
    if rounds_away(mode, (remainder * 2).cmp(&divisor), quotient % 2 != 0) {
        quotient + away
    } else {
        quotient
    }
}

/// Whether a value that is not a whole number of the rounding's unit rounds away from zero,
/// given how twice its remainder compares with the unit and whether the truncated value is odd.
#[inline]
pub(crate) fn rounds_away(mode: RoundingMode, twice_remainder: Ordering, odd: bool) -> bool {
    match mode {
        RoundingMode::HalfUp => twice_remainder != Ordering::Less,
        RoundingMode::HalfEven => {
            twice_remainder == Ordering::Greater || (twice_remainder == Ordering::Equal && odd)
        }
        RoundingMode::Down => false,
        RoundingMode::Up => true,
    }
}

/// The largest magnitude of a [`Decimal`]'s mantissa (2^96 − 1).
pub(crate) const LARGEST_MANTISSA: u128 = 79_228_162_514_264_337_593_543_950_335;

/// The decimal `mantissa` × 10^−`scale`, which the caller has checked: the mantissa's magnitude
/// at most [`LARGEST_MANTISSA`], the scale at most 28. What `Decimal::from_i128_with_scale`
/// gives then (a zero mantissa is a positive zero).
///
/// Rationale: `from_i128_with_scale` checks both again and is not inlined across crates; every
/// sum, product and quotient of exact arithmetic ends here, several times a case.
#[inline]
pub(crate) fn decimal_of_parts(mantissa: i128, scale: u32) -> Decimal {
    let magnitude = mantissa.unsigned_abs();
    Decimal::from_parts(
        (magnitude & 0xFFFF_FFFF) as u32,
        ((magnitude >> 32) & 0xFFFF_FFFF) as u32,
        ((magnitude >> 64) & 0xFFFF_FFFF) as u32,
        mantissa < 0,
        scale.min(28),
    )
}

/// The product of two integers, `None` past `i128`. Rationale: the terms of exact arithmetic
/// (mantissas, powers of ten, fractions' terms) nearly always fit 64 bits, whose product is one
/// multiplication that cannot overflow; `i128::checked_mul` is a library call.
#[inline]
pub(crate) fn product(left: i128, right: i128) -> Option<i128> {
    match (i64::try_from(left), i64::try_from(right)) {
        (Ok(left), Ok(right)) => Some(i128::from(left) * i128::from(right)),
        _ => left.checked_mul(right),
    }
}

/// The strategy of a rounding mode: `half_up` rounds a midpoint away from zero (the law's
/// rounding), `half_even` to the even neighbour.
fn rounding_strategy(mode: RoundingMode) -> RoundingStrategy {
    match mode {
        RoundingMode::HalfUp => RoundingStrategy::MidpointAwayFromZero,
        RoundingMode::HalfEven => RoundingStrategy::MidpointNearestEven,
        RoundingMode::Down => RoundingStrategy::ToZero,
        RoundingMode::Up => RoundingStrategy::AwayFromZero,
    }
}

/// A rounding strategy, named by the policy: the law's tenge round half-up, `round_dp`'s
/// half-to-even is only one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RoundingMode {
    /// Half away from zero: 0.5 → 1, 2.5 → 3 (the law's rounding of tenge).
    HalfUp,
    /// Half to even (banker's): 0.5 → 0, 2.5 → 2.
    HalfEven,
    /// Toward zero (truncation).
    Down,
    /// Away from zero.
    Up,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Decimals of every sign and of scales from 0 to 28, small and near the largest.
    pub(crate) fn decimals() -> Vec<Decimal> {
        let mut all = Vec::new();
        let mantissas: [i128; 10] = [
            0,
            1,
            5,
            55,
            70,
            100,
            123_456_789,
            7_922_816_251_426_433_759_354_395_033,
            79_228_162_514_264_337_593_543_950_335,
            3_333_333_333_333_333_333_333_333_333,
        ];
        for mantissa in mantissas {
            for scale in [0u32, 1, 2, 3, 9, 20, 27, 28] {
                for sign in [1i128, -1] {
                    if let Ok(value) = Decimal::try_from_i128_with_scale(sign * mantissa, scale) {
                        all.push(value);
                    }
                }
            }
        }
        all
    }

    #[test]
    fn a_decimal_of_parts_is_the_decimal_rust_decimal_makes_of_them() {
        for value in decimals() {
            let made = decimal_of_parts(value.mantissa(), value.scale());
            let expected = Decimal::from_i128_with_scale(value.mantissa(), value.scale());
            assert_eq!(made.serialize(), expected.serialize(), "{value}");
        }
        // A zero mantissa is a positive zero, as `rust_decimal` makes it.
        assert!(!decimal_of_parts(0, 3).is_sign_negative());
    }

    #[test]
    fn decimals_compare_as_rust_decimal_compares_them() {
        let all = decimals();
        for left in &all {
            for right in &all {
                assert_eq!(
                    cmp_dec(*left, *right),
                    left.cmp(right),
                    "{left} and {right}"
                );
            }
        }
    }

    #[test]
    fn rounding_is_rust_decimals() {
        let modes = [
            RoundingMode::HalfUp,
            RoundingMode::HalfEven,
            RoundingMode::Down,
            RoundingMode::Up,
        ];
        let mut values = decimals();
        for text in [
            "0.5", "-0.5", "1.5", "2.5", "-2.5", "0.45", "-0.44", "12.345", "5898.0", "0.004999",
            "-0.0001", "-0.00", "-0", "-7", "-70.0",
        ] {
            values.push(text.parse().unwrap_or_default());
        }
        // A zero with its sign set, as `rust_decimal` keeps it after rounding a small negative
        // value: rounding keeps that sign.
        for scale in [0u32, 2] {
            let mut negative_zero = Decimal::new(0, scale);
            negative_zero.set_sign_negative(true);
            values.push(negative_zero);
        }
        for value in values {
            for places in [0u32, 1, 2, 5, 27, 28, 29] {
                for mode in modes {
                    let mut expected =
                        value.round_dp_with_strategy(places, rounding_strategy(mode));
                    expected.rescale(places);
                    let rounded = round(value, places, mode);
                    assert_eq!(
                        (
                            rounded.mantissa(),
                            rounded.scale(),
                            rounded.is_sign_negative()
                        ),
                        (
                            expected.mantissa(),
                            expected.scale(),
                            expected.is_sign_negative()
                        ),
                        "{value} to {places} places, {mode:?}"
                    );
                }
            }
        }
    }
}
