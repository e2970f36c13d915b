//! Exact numbers: the arithmetic of Money, Decimal and Integer values, in which nothing is
//! rounded unless a policy says so (LANGUAGE.md, "Exact arithmetic").
//!
//! A number is a [`Decimal`] whenever its exact value is one (it terminates within 28 decimal
//! places and 96 bits of mantissa): every sum, difference and product of decimals that
//! `rust_decimal` computes exactly, and every quotient that terminates, stay the `Decimal` they
//! are today, with the same mantissa and scale. A quotient that does not terminate (an income
//! divided by 3, then by a family of 7) is a [`Ratio`]: the reduced fraction, `i128` numerator
//! and denominator. Arithmetic on ratios is done in checked `i128`; where an intermediate
//! product passes `i128`, the operation is done again in `num-bigint` and the reduced result
//! brought back. A value whose magnitude passes `Decimal::MAX`, or whose reduced fraction does
//! not fit `i128`, is an overflow: an evaluation error, never a rounded result.
//!
//! The only losses of precision are [`Number::round`] (a policy's `round(…)`) and the display
//! of a ratio to a number of places ([`Ratio::display`]).

use std::cmp::Ordering;
use std::fmt;

use num_bigint::BigInt;
use num_integer::Integer as _;
use num_traits::{Signed as _, ToPrimitive as _, Zero as _};
use rust_decimal::Decimal;

use crate::decimal::RoundingMode;
use crate::decimal::{cmp_dec, decimal_of_parts, product, rounds_away, POWERS_OF_TEN};

/// The largest mantissa of a [`Decimal`] (2^96 − 1), also its largest magnitude at scale 0.
const LARGEST_MANTISSA: i128 = 79_228_162_514_264_337_593_543_950_335;

/// An exact value computed past what a [`Decimal`] holds: its magnitude passes `Decimal::MAX`,
/// or its reduced fraction passes `i128`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overflow;

/// The exact value of a fraction that is not a [`Decimal`]: reduced, the denominator at least
/// 2, the magnitude at most `Decimal::MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ratio {
    numerator: i128,
    denominator: i128,
}

/// An exact number: a decimal, or the fraction of a quotient that is not one.
#[derive(Debug, Clone, Copy)]
pub enum Number {
    Decimal(Decimal),
    Ratio(Ratio),
}

impl Number {
    /// Zero, as a decimal of scale 0.
    pub const ZERO: Number = Number::Decimal(Decimal::ZERO);
}

impl From<i64> for Number {
    /// An integer as the exact number it is (a decimal of scale 0).
    fn from(value: i64) -> Number {
        Number::Decimal(Decimal::from(value))
    }
}

impl std::ops::Neg for Number {
    type Output = Number;

    fn neg(self) -> Number {
        self.negated()
    }
}

/// Exact equality: a decimal equals a decimal of the same value at any scale (`1.0 = 1.00`),
/// a ratio is never a decimal.
impl PartialEq for Number {
    fn eq(&self, other: &Number) -> bool {
        self.order(*other) == Ordering::Equal
    }
}

impl Ratio {
    /// The numerator (its sign is the value's).
    pub fn numerator(&self) -> i128 {
        self.numerator
    }

    /// The denominator, at least 2.
    pub fn denominator(&self) -> i128 {
        self.denominator
    }

    /// The value rounded half-up to `places` decimal places (at most 28), or to fewer where
    /// that many do not fit a decimal: how reports show an amount that does not terminate.
    pub fn display(&self, places: u32) -> Decimal {
        // A ratio's magnitude is within `Decimal::MAX`, so its rounding to whole units fits.
        (0..=places.min(28))
            .rev()
            .find_map(|places| {
                Number::Ratio(*self)
                    .round(places, RoundingMode::HalfUp)
                    .ok()
            })
            .unwrap_or(Decimal::MAX)
    }

    /// The nearest decimal of as many places as fit (28 significant digits or so), what
    /// `rust_decimal` would have divided: explanations show it, marked as approximate, to the
    /// places of its type, and `text(…)` writes it.
    pub fn approximate(&self) -> Decimal {
        self.display(28)
    }
}

impl fmt::Display for Ratio {
    /// The exact fraction, `numerator/denominator` (as the JSON of decisions and traces writes
    /// it).
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}/{}", self.numerator, self.denominator)
    }
}

impl std::str::FromStr for Ratio {
    type Err = Overflow;

    /// Reads `numerator/denominator`; a fraction that is a decimal is not a ratio.
    fn from_str(text: &str) -> Result<Ratio, Overflow> {
        let (numerator, denominator) = text.split_once('/').ok_or(Overflow)?;
        let numerator: i128 = numerator.trim().parse().map_err(|_| Overflow)?;
        let denominator: i128 = denominator.trim().parse().map_err(|_| Overflow)?;
        match Number::fraction(numerator, denominator)? {
            Number::Ratio(ratio) => Ok(ratio),
            Number::Decimal(_) => Err(Overflow),
        }
    }
}

impl serde::Serialize for Ratio {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Ratio {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Ratio, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse()
            .map_err(|_| serde::de::Error::custom("not a fraction that is not a decimal"))
    }
}

/// A fraction divided by the greatest common divisor of its terms (the denominator's sign
/// kept). Rationale: nearly every fraction of a policy (an income in tiyn over 3 × n × 100)
/// fits 64 bits, where division is one instruction; `i128` division is a library call.
#[inline]
fn reduced(numerator: i128, denominator: i128) -> Result<(i128, i128), Overflow> {
    if let (Ok(small_numerator), Ok(small_denominator)) =
        (i64::try_from(numerator), i64::try_from(denominator))
    {
        let divisor = gcd64(
            small_numerator.unsigned_abs(),
            small_denominator.unsigned_abs(),
        );
        // Both magnitudes are below 2^63 + 1 and the divisor is at least 1: the quotients of
        // the magnitudes fit, and the signs are put back in `i128`.
        let divide = |value: i64| -> i128 {
            let magnitude = i128::from(value.unsigned_abs() / divisor);
            if value < 0 {
                -magnitude
            } else {
                magnitude
            }
        };
        return Ok((divide(small_numerator), divide(small_denominator)));
    }
    let divisor = gcd(numerator.unsigned_abs(), denominator.unsigned_abs());
    // `divisor` divides both magnitudes, so both quotients fit; a divisor of 2^127 (both terms
    // i128::MIN or zero) is an overflow.
    let divisor = i128::try_from(divisor).map_err(|_| Overflow)?;
    Ok((numerator / divisor, denominator / divisor))
}

/// [`gcd`] in 64 bits. One division first brings the larger term below the smaller, so that
/// the binary steps run over the smaller's bits only: a quotient's denominator (3 × n × 100)
/// is small next to its numerator (an income in tiyn).
#[inline]
fn gcd64(left: u64, right: u64) -> u64 {
    let (larger, smaller) = if left >= right {
        (left, right)
    } else {
        (right, left)
    };
    if smaller == 0 {
        return larger;
    }
    let (mut left, mut right) = (smaller, larger % smaller);
    if right == 0 {
        return left;
    }
    let shift = (left | right).trailing_zeros();
    left >>= left.trailing_zeros();
    loop {
        right >>= right.trailing_zeros();
        if left > right {
            std::mem::swap(&mut left, &mut right);
        }
        right -= left;
        if right == 0 {
            return left << shift;
        }
    }
}

/// The greatest common divisor of two magnitudes (binary algorithm: no division).
fn gcd(mut left: u128, mut right: u128) -> u128 {
    if left == 0 {
        return right;
    }
    if right == 0 {
        return left;
    }
    let shift = (left | right).trailing_zeros();
    left >>= left.trailing_zeros();
    loop {
        right >>= right.trailing_zeros();
        if left > right {
            std::mem::swap(&mut left, &mut right);
        }
        right -= left;
        if right == 0 {
            return left << shift;
        }
    }
}

/// A decimal as a fraction: its mantissa over 10^scale.
fn parts(value: Decimal) -> (i128, i128) {
    let power = POWERS_OF_TEN
        .get(value.scale() as usize)
        .copied()
        .unwrap_or(1);
    (value.mantissa(), power)
}

/// Whether a decimal's exact magnitude is within a [`Decimal`]'s.
fn within_range(numerator: i128, denominator: i128) -> bool {
    // A numerator within a mantissa's range is within it over any denominator.
    if numerator.unsigned_abs() <= LARGEST_MANTISSA.unsigned_abs() {
        return true;
    }
    let whole = numerator.unsigned_abs() / denominator.unsigned_abs();
    let rest = numerator.unsigned_abs() % denominator.unsigned_abs();
    whole < LARGEST_MANTISSA.unsigned_abs()
        || (whole == LARGEST_MANTISSA.unsigned_abs() && rest == 0)
}

impl Number {
    /// The exact value `numerator / denominator` (the denominator not zero), as a decimal when
    /// it is one and as a reduced ratio otherwise.
    pub fn fraction(numerator: i128, denominator: i128) -> Result<Number, Overflow> {
        if denominator == 0 {
            return Err(Overflow);
        }
        let (mut numerator, mut denominator) = reduced(numerator, denominator)?;
        if denominator < 0 {
            numerator = numerator.checked_neg().ok_or(Overflow)?;
            denominator = denominator.checked_neg().ok_or(Overflow)?;
        }
        if !within_range(numerator, denominator) {
            return Err(Overflow);
        }
        Ok(match terminating_scale(denominator) {
            Some((scale, factor)) => match product(numerator, factor) {
                Some(mantissa) if mantissa.abs() <= LARGEST_MANTISSA => {
                    Number::Decimal(decimal_of_parts(mantissa, scale))
                }
                _ => Number::Ratio(Ratio {
                    numerator,
                    denominator,
                }),
            },
            None => Number::Ratio(Ratio {
                numerator,
                denominator,
            }),
        })
    }

    /// The exact value of a fraction of big integers, brought back to `i128`.
    fn big_fraction(numerator: BigInt, denominator: BigInt) -> Result<Number, Overflow> {
        if denominator.is_zero() {
            return Err(Overflow);
        }
        let divisor = numerator.gcd(&denominator);
        let (numerator, denominator) = if divisor.is_zero() {
            (numerator, denominator)
        } else {
            (numerator / &divisor, denominator / &divisor)
        };
        match (numerator.to_i128(), denominator.to_i128()) {
            (Some(numerator), Some(denominator)) => Number::fraction(numerator, denominator),
            _ => Err(Overflow),
        }
    }

    /// The value as a fraction (not necessarily reduced: a decimal is its mantissa over
    /// 10^scale).
    fn parts(self) -> (i128, i128) {
        match self {
            Number::Decimal(value) => parts(value),
            Number::Ratio(ratio) => (ratio.numerator, ratio.denominator),
        }
    }

    fn big_parts(self) -> (BigInt, BigInt) {
        let (numerator, denominator) = self.parts();
        (BigInt::from(numerator), BigInt::from(denominator))
    }

    /// The value itself when it is a decimal, otherwise its nearest decimal
    /// ([`Ratio::approximate`]).
    pub fn approximate(self) -> Decimal {
        match self {
            Number::Decimal(value) => value,
            Number::Ratio(ratio) => ratio.approximate(),
        }
    }

    /// The decimal, when the value is one.
    pub fn as_decimal(self) -> Option<Decimal> {
        match self {
            Number::Decimal(value) => Some(value),
            Number::Ratio(_) => None,
        }
    }

    /// Whether the value is zero (a ratio never is).
    pub fn is_zero(self) -> bool {
        matches!(self, Number::Decimal(value) if value.is_zero())
    }

    /// Whether the value is below zero.
    pub fn is_negative(self) -> bool {
        match self {
            Number::Decimal(value) => value.is_sign_negative() && !value.is_zero(),
            Number::Ratio(ratio) => ratio.numerator < 0,
        }
    }

    /// The exact sum.
    #[inline]
    pub fn checked_add(self, other: Number) -> Result<Number, Overflow> {
        if let (Number::Decimal(left), Number::Decimal(right)) = (self, other) {
            if let Some(sum) = add_decimals(left, right) {
                return Ok(Number::Decimal(sum));
            }
        }
        let ((a, b), (c, d)) = (self.parts(), other.parts());
        let small = product(a, d)
            .zip(product(c, b))
            .and_then(|(left, right)| left.checked_add(right))
            .zip(product(b, d));
        match small {
            Some((numerator, denominator)) => Number::fraction(numerator, denominator),
            None => {
                let ((a, b), (c, d)) = (self.big_parts(), other.big_parts());
                Number::big_fraction(a * &d + c * &b, b * d)
            }
        }
    }

    /// The exact difference.
    #[inline]
    pub fn checked_sub(self, other: Number) -> Result<Number, Overflow> {
        self.checked_add(other.negated())
    }

    /// The exact product.
    #[inline]
    pub fn checked_mul(self, other: Number) -> Result<Number, Overflow> {
        if let (Number::Decimal(left), Number::Decimal(right)) = (self, other) {
            if let Some(product) = mul_decimals(left, right) {
                return Ok(Number::Decimal(product));
            }
        }
        let ((a, b), (c, d)) = (self.parts(), other.parts());
        match product(a, c).zip(product(b, d)) {
            Some((numerator, denominator)) => Number::fraction(numerator, denominator),
            None => {
                let ((a, b), (c, d)) = (self.big_parts(), other.big_parts());
                Number::big_fraction(a * c, b * d)
            }
        }
    }

    /// The exact quotient; `None` divided by zero. A quotient of decimals that terminates is
    /// the decimal `rust_decimal` gives, in its shortest form (as every evaluator divided
    /// before).
    #[inline]
    pub fn checked_div(self, other: Number) -> Result<Option<Number>, Overflow> {
        if other.is_zero() {
            return Ok(None);
        }
        if let (Number::Decimal(left), Number::Decimal(right)) = (self, other) {
            if let Some(quotient) = divide_decimals_evenly(left, right) {
                return Ok(Some(Number::Decimal(quotient)));
            }
        }
        // The quotient as a fraction, reduced: a decimal when it terminates, in its shortest
        // form (the normalized quotient `rust_decimal` gives when it is exact), a ratio
        // otherwise.
        let ((a, b), (c, d)) = (self.parts(), other.parts());
        match product(a, d).zip(product(b, c)) {
            Some((numerator, denominator)) => Number::fraction(numerator, denominator).map(Some),
            None => {
                let ((a, b), (c, d)) = (self.big_parts(), other.big_parts());
                Number::big_fraction(a * d, b * c).map(Some)
            }
        }
    }

    /// The value with its sign changed.
    #[inline]
    pub fn negated(self) -> Number {
        match self {
            Number::Decimal(value) => Number::Decimal(-value),
            // A reduced numerator is never i128::MIN: its magnitude is within `Decimal::MAX`
            // times the denominator, and the pair reduced.
            Number::Ratio(ratio) => Number::Ratio(Ratio {
                numerator: ratio.numerator.saturating_neg(),
                denominator: ratio.denominator,
            }),
        }
    }

    /// The magnitude.
    pub fn abs(self) -> Number {
        if self.is_negative() {
            self.negated()
        } else {
            self
        }
    }

    /// The exact order of two numbers.
    #[inline]
    pub fn order(self, other: Number) -> Ordering {
        if let (Number::Decimal(left), Number::Decimal(right)) = (self, other) {
            return cmp_dec(left, right);
        }
        let ((a, b), (c, d)) = (self.parts(), other.parts());
        match product(a, d).zip(product(c, b)) {
            Some((left, right)) => left.cmp(&right),
            None => {
                let ((a, b), (c, d)) = (self.big_parts(), other.big_parts());
                (a * d).cmp(&(c * b))
            }
        }
    }

    /// The value rounded to `places` decimal places by `mode`, with exactly that many places,
    /// decided as the exact value decides (a quotient that is exactly x.5 rounds half-up to
    /// x + 1). A decimal rounds as [`crate::decimal::round`] rounds it.
    #[inline]
    pub fn round(self, places: u32, mode: RoundingMode) -> Result<Decimal, Overflow> {
        let ratio = match self {
            Number::Decimal(value) => return Ok(crate::decimal::round(value, places, mode)),
            Number::Ratio(ratio) => ratio,
        };
        let scaled = POWERS_OF_TEN
            .get(places as usize)
            .and_then(|power| product(ratio.numerator, *power));
        let (quotient, away) = match scaled {
            Some(scaled) => {
                // In 64 bits where both fit (division is then one instruction).
                let (quotient, remainder) =
                    match (i64::try_from(scaled), i64::try_from(ratio.denominator)) {
                        (Ok(scaled), Ok(denominator)) => (
                            i128::from(scaled / denominator),
                            i128::from(scaled % denominator),
                        ),
                        _ => (scaled / ratio.denominator, scaled % ratio.denominator),
                    };
                let twice = remainder.unsigned_abs() * 2;
                let away = rounds_away(
                    mode,
                    twice.cmp(&ratio.denominator.unsigned_abs()),
                    quotient % 2 != 0,
                );
                (quotient, away)
            }
            None => {
                let power = num_traits::pow(BigInt::from(10), places as usize);
                let scaled = BigInt::from(ratio.numerator) * power;
                let denominator = BigInt::from(ratio.denominator);
                // Truncating division, as `/` on `i128` divides.
                let quotient = &scaled / &denominator;
                let twice: BigInt = (&scaled % &denominator).abs() * 2;
                let odd = (&quotient % 2u32) != BigInt::zero();
                let away = rounds_away(mode, twice.cmp(&denominator.abs()), odd);
                (quotient.to_i128().ok_or(Overflow)?, away)
            }
        };
        // A ratio is never a whole number of `places`ths, so the remainder is never zero.
        let rounded = if away {
            quotient + ratio.numerator.signum()
        } else {
            quotient
        };
        if rounded.abs() > LARGEST_MANTISSA || places > 28 {
            return Err(Overflow);
        }
        let mut result = decimal_of_parts(rounded, places);
        if rounded == 0 && ratio.numerator < 0 {
            // `rust_decimal` keeps the sign of a negative number rounded to zero.
            result.set_sign_negative(true);
        }
        Ok(result)
    }
}

/// When `denominator` (at least 1) has no prime factor but 2 and 5, the scale of the decimal
/// it makes and the factor that brings it to 10^scale; `None` otherwise or past scale 28.
fn terminating_scale(denominator: i128) -> Option<(u32, i128)> {
    let twos = denominator.trailing_zeros();
    let mut odd = denominator >> twos;
    let mut fives = 0u32;
    // The fives are divided out in 64 bits, where division is one instruction, once the odd
    // part fits them (5^27 does; 5^28 does not).
    while odd > i128::from(u64::MAX) {
        if odd % 5 != 0 {
            return None;
        }
        odd /= 5;
        fives += 1;
    }
    let mut rest = u64::try_from(odd).ok()?;
    while rest % 5 == 0 {
        rest /= 5;
        fives += 1;
    }
    if rest != 1 {
        return None;
    }
    let scale = twos.max(fives);
    if scale > 28 {
        return None;
    }
    // 10^scale ÷ (2^twos × 5^fives): the twos or the fives missing, 5^k being 10^k ÷ 2^k.
    let factor = if twos < scale {
        1i128 << (scale - twos)
    } else {
        POWERS_OF_TEN.get((scale - fives) as usize)? >> (scale - fives)
    };
    Some((scale, factor))
}

/// A sum of decimals when it is exact as a decimal: the mantissas at the larger scale, added in
/// `i128`, within 96 bits. It is what `Decimal::checked_add` gives then (same mantissa, same
/// scale); `None` where `rust_decimal` would have rounded or overflowed.
#[inline]
fn add_decimals(left: Decimal, right: Decimal) -> Option<Decimal> {
    if left.scale() == right.scale() {
        // The common case (two amounts of money): the mantissas, of 96 bits each, add in
        // `i128` without overflow.
        let sum = left.mantissa() + right.mantissa();
        return (sum.abs() <= LARGEST_MANTISSA).then(|| decimal_of_parts(sum, left.scale()));
    }
    let scale = left.scale().max(right.scale());
    let at_scale = |value: Decimal| {
        POWERS_OF_TEN
            .get((scale - value.scale()) as usize)
            .and_then(|power| product(value.mantissa(), *power))
    };
    let sum = at_scale(left)?.checked_add(at_scale(right)?)?;
    (sum.abs() <= LARGEST_MANTISSA).then(|| decimal_of_parts(sum, scale))
}

/// A quotient of decimals whose mantissas divide evenly in 64 bits (an income of whole tenge
/// divided by 3, a total divided by a family of 2), in its shortest form: the decimal that
/// [`Number::fraction`] gives for the same quotient, found with one 64-bit division instead
/// of a greatest common divisor and a search for the scale. `None` when the mantissas do not
/// fit 64 bits or do not divide evenly; the caller then takes the general path.
#[inline]
fn divide_decimals_evenly(left: Decimal, right: Decimal) -> Option<Decimal> {
    let dividend = i64::try_from(left.mantissa()).ok()?;
    let divisor = i64::try_from(right.mantissa()).ok()?;
    if divisor == 0 || dividend.checked_rem(divisor)? != 0 {
        return None;
    }
    // The value is (dividend ÷ divisor) × 10^(right's scale − left's scale).
    let mut mantissa = i128::from(dividend.checked_div(divisor)?);
    let mut scale = if left.scale() >= right.scale() {
        left.scale() - right.scale()
    } else {
        let power = POWERS_OF_TEN.get((right.scale() - left.scale()) as usize)?;
        mantissa = product(mantissa, *power)?;
        0
    };
    // The shortest form: no trailing zero after the decimal point, as a reduced fraction's
    // terminating scale gives it.
    while scale > 0 && mantissa % 10 == 0 {
        mantissa /= 10;
        scale -= 1;
    }
    (mantissa.abs() <= LARGEST_MANTISSA).then(|| decimal_of_parts(mantissa, scale))
}

/// A product of decimals when it is exact as a decimal: the mantissas' product within 96 bits
/// and the scales' sum within 28, what `Decimal::checked_mul` gives then; `None` otherwise.
#[inline]
fn mul_decimals(left: Decimal, right: Decimal) -> Option<Decimal> {
    let scale = left.scale() + right.scale();
    let mantissa = product(left.mantissa(), right.mantissa())?;
    (scale <= 28 && mantissa.abs() <= LARGEST_MANTISSA).then(|| decimal_of_parts(mantissa, scale))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(text: &str) -> Number {
        Number::Decimal(text.parse().unwrap_or_default())
    }

    /// The quotient of two decimals, which must not be a division by zero.
    fn quotient(left: Number, right: Number) -> Number {
        left.checked_div(right).unwrap().unwrap()
    }

    #[test]
    fn a_tie_made_by_a_quotient_rounds_up() {
        // 32 360 × 7 − 49 999.50 ÷ 3 ÷ 7 × 7: the exact amount is 209 853.5.
        let per_capita = quotient(quotient(number("49999.50"), number("3")), number("7"));
        assert!(matches!(per_capita, Number::Ratio(_)));
        let amount = number("32360")
            .checked_sub(per_capita)
            .and_then(|difference| difference.checked_mul(number("7")))
            .unwrap();
        assert_eq!(
            amount.round(0, RoundingMode::HalfUp),
            Ok(Decimal::from(209_854))
        );
        // Below half, above half and half-even on the same tie.
        assert_eq!(
            amount.round(0, RoundingMode::HalfEven),
            Ok(Decimal::from(209_854))
        );
        assert_eq!(
            amount.round(0, RoundingMode::Down),
            Ok(Decimal::from(209_853))
        );
        let third = quotient(number("1"), number("3"));
        assert_eq!(third.round(0, RoundingMode::Up), Ok(Decimal::from(1)));
        assert_eq!(
            third.negated().round(2, RoundingMode::HalfUp),
            Ok("-0.33".parse().unwrap())
        );
    }

    #[test]
    fn terminating_quotients_are_rust_decimals_in_shortest_form() {
        for (left, right) in [
            ("10", "4"),
            ("1.50", "3"),
            ("7", "0.5"),
            ("-1", "8"),
            ("1", "0.0001"),
            ("123.456", "0.008"),
            ("4.000", "2"),
            ("300", "3"),
        ] {
            let left: Decimal = left.parse().unwrap_or_default();
            let right: Decimal = right.parse().unwrap_or_default();
            let Ok(Some(Number::Decimal(quotient))) =
                Number::Decimal(left).checked_div(Number::Decimal(right))
            else {
                panic!("{left} / {right} terminates")
            };
            let expected = (left / right).normalize();
            assert_eq!(
                (quotient.mantissa(), quotient.scale()),
                (expected.mantissa(), expected.scale())
            );
        }
    }

    fn dec(text: &str) -> Decimal {
        text.parse().expect("a decimal")
    }

    #[test]
    fn an_even_division_of_decimals_gives_what_the_reduced_fraction_gives() {
        let values = [
            "0",
            "-0",
            "1",
            "-1",
            "3",
            "7",
            "9",
            "60000",
            "60000.00",
            "20001",
            "-4.50",
            "0.003",
            "123456789.12",
            "1000",
            "2.5",
            "0.10",
            "9223372036854775807",
            "-9223372036854775808",
            "79228162514264337593543950335",
            "100.000",
            "3.0",
            "-6",
            "0.000000001",
        ];
        let mut evenly_divided = 0;
        for left in values {
            for right in values {
                let (left, right) = (dec(left), dec(right));
                if right.is_zero() {
                    continue;
                }
                let Some(fast) = divide_decimals_evenly(left, right) else {
                    continue;
                };
                evenly_divided += 1;
                let (a, b) = parts(left);
                let (c, d) = parts(right);
                let general = Number::fraction(a * d, b * c).expect("within range");
                match general {
                    Number::Decimal(general) => {
                        assert_eq!(
                            (fast.mantissa(), fast.scale(), fast.is_sign_negative()),
                            (
                                general.mantissa(),
                                general.scale(),
                                general.is_sign_negative()
                            ),
                            "{left} / {right}"
                        );
                    }
                    Number::Ratio(_) => panic!("{left} / {right} divided evenly into a ratio"),
                }
            }
        }
        assert!(evenly_divided > 100, "{evenly_divided}");
    }

    #[test]
    fn a_fraction_that_terminates_within_28_places_is_a_decimal() {
        let five_to_28 = 37_252_902_984_619_140_625i128;
        assert_eq!(
            Number::fraction(1, five_to_28).map(Number::as_decimal),
            Ok(Some(Decimal::from_i128_with_scale(268_435_456, 28)))
        );
        assert!(matches!(
            Number::fraction(1, five_to_28 * 5),
            Ok(Number::Ratio(_))
        ));
        assert_eq!(
            Number::fraction(-6, 8).map(Number::as_decimal),
            Ok(Some(Decimal::new(-75, 2)))
        );
    }

    #[test]
    fn fractions_read_back_as_they_are_written() {
        let third = number("1").checked_div(number("3"));
        let Ok(Some(Number::Ratio(third))) = third else {
            panic!("a third is a ratio")
        };
        assert_eq!(third.to_string(), "1/3");
        assert_eq!("1/3".parse::<Ratio>(), Ok(third));
        assert_eq!(third.display(2), "0.33".parse().unwrap_or_default());
        assert_eq!("1/4".parse::<Ratio>(), Err(Overflow));
    }

    #[test]
    fn values_past_a_decimal_overflow() {
        let largest = Number::Decimal(Decimal::MAX);
        assert_eq!(largest.checked_add(number("1")).err(), Some(Overflow));
        assert_eq!(largest.checked_mul(number("1.5")).err(), Some(Overflow));
        let tiny = number("0.0000000000000000000000000001");
        assert!(matches!(
            tiny.checked_div(number("3")),
            Ok(Some(Number::Ratio(_)))
        ));
    }
}
