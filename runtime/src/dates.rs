//! Date arithmetic: month arithmetic clipped to the month's end, ages, quarters and months, and
//! working days from a holiday calendar. Every function is total: an out-of-range result is
//! `None` (the evaluator turns it into an error), never a panic.

use chrono::{Datelike, Weekday};

use crate::ir::Calendar;
use crate::value::{Date, Month, Quarter};

/// The number of days in a month, or `None` for an impossible month.
pub fn days_in_month(year: i32, month: u32) -> Option<u32> {
    // Ordinary years by arithmetic; the far ends of the calendar's range through chrono.
    if (1..=9999).contains(&year) {
        return match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => Some(31),
            4 | 6 | 9 | 11 => Some(30),
            2 if is_leap_year(year) => Some(29),
            2 => Some(28),
            _ => None,
        };
    }
    let first = Date::from_ymd_opt(year, month, 1)?;
    let next_first = if month == 12 {
        Date::from_ymd_opt(year.checked_add(1)?, 1, 1)?
    } else {
        Date::from_ymd_opt(year, month + 1, 1)?
    };
    u32::try_from(next_first.signed_duration_since(first).num_days()).ok()
}

/// `date` plus `months` calendar months, clipped to the last day of the resulting month
/// (2024-08-31 + 6 months = 2025-02-28).
pub fn add_months(date: Date, months: i64) -> Option<Date> {
    let index = i64::from(date.year())
        .checked_mul(12)?
        .checked_add(i64::from(date.month0()))?
        .checked_add(months)?;
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    let month = u32::try_from(index.rem_euclid(12)).ok()? + 1;
    let day = date.day().min(days_in_month(year, month)?);
    Date::from_ymd_opt(year, month, day)
}

/// `date` plus `years` years, clipped like [`add_months`] (2024-02-29 + 1 year = 2025-02-28).
pub fn add_years(date: Date, years: i64) -> Option<Date> {
    add_months(date, years.checked_mul(12)?)
}

/// `date` plus `days` days.
pub fn add_days(date: Date, days: i64) -> Option<Date> {
    date.checked_add_signed(chrono::TimeDelta::try_days(days)?)
}

/// Full years from `birth` to `on`. The anniversary of a 29 February birth in a common year is
/// 28 February (the k-th anniversary is `add_months(birth, 12 k)`, clipped to the month's end).
/// Negative when `on` is before the birth.
pub fn age(birth: Date, on: Date) -> Option<i64> {
    let mut years = i64::from(on.year()) - i64::from(birth.year());
    if (1..=9999).contains(&on.year()) && (1..=9999).contains(&birth.year()) {
        // The anniversary in `on`'s year, without building it: 29 February falls back to the
        // 28th in a common year, as `add_years` clips it.
        let anniversary_day = if birth.month() == 2 && birth.day() == 29 && !is_leap_year(on.year())
        {
            28
        } else {
            birth.day()
        };
        if (on.month(), on.day()) < (birth.month(), anniversary_day) {
            years -= 1;
        }
        return Some(years);
    }
    if add_years(birth, years)? > on {
        years -= 1;
    }
    Some(years)
}

/// Whether `year` has a 29 February (proleptic Gregorian).
fn is_leap_year(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// `b − a` in days.
pub fn days_between(a: Date, b: Date) -> i64 {
    b.signed_duration_since(a).num_days()
}

pub fn month_of(date: Date) -> Month {
    Month {
        year: date.year(),
        month: date.month(),
    }
}

pub fn quarter_of(date: Date) -> Quarter {
    month_of(date).quarter()
}

/// The month before, or `None` when the year would leave the representable range.
pub fn previous_month(month: Month) -> Option<Month> {
    if month.month == 1 {
        Month::new(month.year.checked_sub(1)?, 12)
    } else {
        Month::new(month.year, month.month.checked_sub(1)?)
    }
}

pub fn next_month(month: Month) -> Option<Month> {
    if month.month >= 12 {
        Month::new(month.year.checked_add(1)?, 1)
    } else {
        Month::new(month.year, month.month + 1)
    }
}

pub fn previous_quarter(quarter: Quarter) -> Option<Quarter> {
    if quarter.quarter == 1 {
        Quarter::new(quarter.year.checked_sub(1)?, 4)
    } else {
        Quarter::new(quarter.year, quarter.quarter.checked_sub(1)?)
    }
}

pub fn next_quarter(quarter: Quarter) -> Option<Quarter> {
    if quarter.quarter >= 4 {
        Quarter::new(quarter.year.checked_add(1)?, 1)
    } else {
        Quarter::new(quarter.year, quarter.quarter + 1)
    }
}

pub fn month_first_day(month: Month) -> Option<Date> {
    Date::from_ymd_opt(month.year, month.month, 1)
}

pub fn month_last_day(month: Month) -> Option<Date> {
    Date::from_ymd_opt(
        month.year,
        month.month,
        days_in_month(month.year, month.month)?,
    )
}

pub fn quarter_first_day(quarter: Quarter) -> Option<Date> {
    let month = quarter
        .quarter
        .checked_sub(1)?
        .checked_mul(3)?
        .checked_add(1)?;
    Date::from_ymd_opt(quarter.year, month, 1)
}

pub fn quarter_last_day(quarter: Quarter) -> Option<Date> {
    let month = Month::new(quarter.year, quarter.quarter.checked_mul(3)?)?;
    month_last_day(month)
}

/// Whether the quarter contains the month.
pub fn quarter_contains(quarter: Quarter, month: Month) -> bool {
    (1..=12).contains(&month.month) && month.quarter() == quarter
}

/// A date the calendar does not cover: the evaluator reports it with the calendar's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotCovered(pub Date);

/// Whether `date` is a working day in `calendar`: a weekday that is not listed as non-working,
/// or a weekend day listed as working. A date in a year the calendar does not cover is an error.
pub fn is_working_day(calendar: &Calendar, date: Date) -> Result<bool, NotCovered> {
    let year = date.year();
    let Some(covered) = calendar.years.iter().find(|entry| entry.year == year) else {
        return Err(NotCovered(date));
    };
    let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
    Ok(if weekend {
        covered.working.contains(&date)
    } else {
        !covered.non_working.contains(&date)
    })
}

/// Steps `days` working days from `date` (backwards when negative): with 1, the first working
/// day after `date`; with 0, `date` itself. Every date examined must be covered by the calendar,
/// which also bounds the loop.
pub fn add_working_days(
    calendar: &Calendar,
    date: Date,
    days: i64,
) -> Result<Option<Date>, NotCovered> {
    let step = if days < 0 { -1 } else { 1 };
    let mut remaining = days.unsigned_abs();
    let mut current = date;
    while remaining > 0 {
        let Some(next) = add_days(current, step) else {
            return Ok(None);
        };
        current = next;
        if is_working_day(calendar, current)? {
            remaining -= 1;
        }
    }
    Ok(Some(current))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ir::CalendarYear;

    fn date(year: i32, month: u32, day: u32) -> Date {
        Date::from_ymd_opt(year, month, day).unwrap()
    }

    #[test]
    fn arithmetic_age_and_month_length_agree_with_the_calendar() {
        // The reference: the anniversary built with `add_years`, and months measured by chrono.
        let reference_age = |birth: Date, on: Date| {
            let mut years = i64::from(on.year()) - i64::from(birth.year());
            if add_years(birth, years).unwrap() > on {
                years -= 1;
            }
            years
        };
        let births: Vec<Date> = (0..800)
            .map(|offset| add_days(date(1999, 11, 1), offset).unwrap())
            .chain([date(2000, 2, 29), date(2004, 2, 29), date(1996, 2, 29)])
            .collect();
        let days: Vec<Date> = (0..900)
            .step_by(7)
            .map(|offset| add_days(date(2023, 1, 1), offset).unwrap())
            .chain([
                date(2024, 2, 28),
                date(2024, 2, 29),
                date(2025, 2, 28),
                date(2025, 3, 1),
            ])
            .collect();
        for birth in &births {
            for on in &days {
                assert_eq!(
                    age(*birth, *on),
                    Some(reference_age(*birth, *on)),
                    "{birth} {on}"
                );
            }
        }
        for year in (1..=2500).chain([1900, 2000, 2100, 9999]) {
            for month in 0..=13 {
                let reference = Date::from_ymd_opt(year, month, 1).and_then(|first| {
                    let next = if month == 12 {
                        Date::from_ymd_opt(year + 1, 1, 1)?
                    } else {
                        Date::from_ymd_opt(year, month + 1, 1)?
                    };
                    u32::try_from(next.signed_duration_since(first).num_days()).ok()
                });
                assert_eq!(days_in_month(year, month), reference, "{year}-{month}");
            }
        }
    }

    #[test]
    fn month_arithmetic_clips_to_the_month_end() {
        let rows = [
            (date(2024, 8, 31), 6, date(2025, 2, 28)),
            (date(2024, 1, 31), 1, date(2024, 2, 29)),
            (date(2025, 1, 31), 1, date(2025, 2, 28)),
            (date(2025, 3, 31), -13, date(2024, 2, 29)),
            (date(2025, 1, 15), -1, date(2024, 12, 15)),
            (date(2025, 1, 15), 0, date(2025, 1, 15)),
        ];
        for (start, months, expected) in rows {
            assert_eq!(
                add_months(start, months),
                Some(expected),
                "{start} + {months}"
            );
        }
        assert_eq!(add_months(date(2025, 1, 1), i64::MAX), None);
        assert_eq!(add_days(date(2025, 1, 1), i64::MAX), None);
    }

    #[test]
    fn ages_with_29_february_births() {
        let born = date(2008, 2, 29);
        let rows = [
            (date(2025, 2, 27), 16),
            (date(2025, 2, 28), 17),
            (date(2025, 3, 1), 17),
            (date(2028, 2, 28), 19),
            (date(2028, 2, 29), 20),
            (date(2008, 2, 29), 0),
            (date(2008, 2, 28), -1),
        ];
        for (on, expected) in rows {
            assert_eq!(age(born, on), Some(expected), "on {on}");
        }
    }

    #[test]
    fn quarters_and_months() {
        let quarter = Quarter {
            year: 2025,
            quarter: 1,
        };
        assert_eq!(
            previous_quarter(quarter),
            Some(Quarter {
                year: 2024,
                quarter: 4
            })
        );
        assert_eq!(
            quarter_first_day(Quarter {
                year: 2024,
                quarter: 4
            }),
            Some(date(2024, 10, 1))
        );
        assert_eq!(quarter_last_day(quarter), Some(date(2025, 3, 31)));
        assert_eq!(
            month_last_day(Month {
                year: 2100,
                month: 2
            }),
            Some(date(2100, 2, 28))
        );
        assert!(quarter_contains(
            quarter,
            Month {
                year: 2025,
                month: 3
            }
        ));
        assert!(!quarter_contains(
            quarter,
            Month {
                year: 2025,
                month: 4
            }
        ));
        assert_eq!(
            previous_month(Month {
                year: i32::MIN,
                month: 1
            }),
            None
        );
        assert_eq!(
            next_quarter(Quarter {
                year: i32::MAX,
                quarter: 4
            }),
            None
        );
    }

    #[test]
    fn working_days() {
        let calendar = Calendar {
            name: "kz".to_string(),
            source: None,
            years: vec![CalendarYear {
                year: 2025,
                non_working: vec![date(2025, 5, 1), date(2025, 5, 7), date(2025, 5, 9)],
                working: vec![date(2025, 1, 5)],
            }],
        };
        // Wednesday 30 April: 1 May holiday → Friday 2 May.
        assert_eq!(
            add_working_days(&calendar, date(2025, 4, 30), 1),
            Ok(Some(date(2025, 5, 2)))
        );
        // Tuesday 6 May: 7 May holiday → Thursday 8 May; then 9 May holiday and the weekend.
        assert_eq!(
            add_working_days(&calendar, date(2025, 5, 6), 2),
            Ok(Some(date(2025, 5, 12)))
        );
        assert_eq!(is_working_day(&calendar, date(2025, 1, 5)), Ok(true));
        assert_eq!(
            add_working_days(&calendar, date(2025, 12, 31), 1),
            Err(NotCovered(date(2026, 1, 1)))
        );
        assert_eq!(
            is_working_day(&calendar, date(2024, 6, 3)),
            Err(NotCovered(date(2024, 6, 3)))
        );
    }
}
