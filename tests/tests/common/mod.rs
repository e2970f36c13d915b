//! What the end-to-end tests share: dates, and random family cases for the kz policies.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{Datelike, Duration, NaiveDate};
use serde_json::{json, Value};

pub type Date = NaiveDate;

pub fn date(y: i32, m: u32, d: u32) -> Date {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// Adds months, clipping the day to the month's last day (2024-08-31 + 6 = 2025-02-28).
pub fn add_months(day: Date, months: i32) -> Date {
    let total = day.year() * 12 + day.month0() as i32 + months;
    let (year, month0) = (total.div_euclid(12), total.rem_euclid(12) as u32);
    let mut d = day.day();
    loop {
        if let Some(result) = NaiveDate::from_ymd_opt(year, month0 + 1, d) {
            return result;
        }
        d -= 1;
    }
}

// ------------------------------------------------------------------ random cases

/// A small deterministic generator (xorshift64*), so that a failure replays exactly.
pub struct Random(pub u64);

impl Random {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    pub fn day_between(&mut self, from: Date, to: Date) -> Date {
        from + Duration::days(self.below((to - from).num_days() as u64 + 1) as i64)
    }
    pub fn money(&mut self, max: u64) -> Value {
        let tenge = self.below(max + 1);
        if self.chance(50) {
            json!(tenge.to_string())
        } else {
            json!(format!("{tenge}.{:02}", self.below(100)))
        }
    }
}

pub fn month_text(day: Date) -> String {
    day.format("%Y-%m").to_string()
}

pub fn random_case(random: &mut Random, index: usize) -> Value {
    let application = random.day_between(date(2025, 1, 1), date(2026, 12, 20));
    let period_start = add_months(application, -((application.month0() % 3) as i32) - 3);
    let count = 1 + random.below(7) as usize;
    let mut members = Vec::new();
    for m in 0..count {
        let born = if random.chance(5) {
            *random.pick(&[
                date(2020, 2, 29),
                date(2024, 2, 29),
                date(2008, 2, 29),
                date(1964, 2, 29),
            ])
        } else if m == 0 || random.chance(40) {
            random.day_between(date(1950, 1, 1), date(2007, 12, 31))
        } else {
            random.day_between(application - Duration::days(8 * 365), application)
        };
        let mut member = json!({
            "id": format!("m{}", m + 1),
            "role": random.pick(&["applicant", "spouse", "child", "parent", "other"]),
            "birth_date": born.format("%Y-%m-%d").to_string(),
            "sex": random.pick(&["female", "male"]),
        });
        if random.chance(10) {
            member["disability_group"] = json!(random.pick(&[1, 2, 3]));
        }
        if random.chance(80) {
            member["employment"] = json!(random.pick(&[
                "employed",
                "self_employed",
                "registered_unemployed",
                "not_working"
            ]));
        }
        if random.chance(80) {
            member["education"] =
                json!(random.pick(&["none", "secondary", "vocational", "higher"]));
        }
        for flag in ["chronic_illness", "child_with_disability"] {
            if random.chance(7) {
                member[flag] = json!(true);
            }
        }
        if random.chance(8) {
            member["registered_business"] = json!(random.pick(&["ip", "too"]));
        }
        for flag in ["full_time_student", "carer"] {
            if random.chance(8) {
                member[flag] = json!(true);
            }
        }
        let mut incomes = Vec::new();
        let rich = random.chance(8);
        for _ in 0..random.below(5) {
            let month = add_months(period_start, random.below(6) as i32 - 1);
            incomes.push(json!({
                "kind": random.pick(&["salary", "pension", "alimony", "other", "asp", "one_time_aid", "housing_aid", "state_benefit"]),
                "month": month_text(month),
                "amount": random.money(if rich { 2_500_000 } else { 150_000 }),
            }));
        }
        member["incomes"] = json!(incomes);
        members.push(member);
    }
    let mut case = json!({
        "case_id": format!("random-{index}"),
        "application_date": application.format("%Y-%m-%d").to_string(),
        "members": members,
    });
    if random.chance(70) {
        case["region"] =
            json!(random.pick(&["zhetysu", "karaganda", "shymkent", "aktobe", "almaty"]));
    }
    if random.chance(75) {
        let mut assets = json!({});
        for (field, max) in [
            ("housing_units", 3),
            ("vehicles", 3),
            ("land_plots", 2),
            ("livestock_heads", 9),
        ] {
            if random.chance(80) {
                assets[field] = json!(random.below(max + 1));
            }
        }
        if random.chance(50) {
            assets["renting"] = json!(random.chance(40));
        }
        case["assets"] = assets;
    }
    if random.chance(85) {
        let mut contract = json!({ "signed": random.chance(80) });
        if random.chance(20) {
            let terminated = add_months(application, -(random.below(9) as i32));
            contract["terminated_on"] = json!(terminated.format("%Y-%m-%d").to_string());
        }
        case["social_contract"] = contract;
    }
    if random.chance(50) {
        let sms = random.day_between(application - Duration::days(3), application);
        case["pilot"] = json!({ "enrolled": random.chance(85), "sms_sent_on": sms.format("%Y-%m-%d").to_string() });
        for member in case["members"].as_array_mut().unwrap() {
            if random.chance(90) {
                let replied = sms + Duration::days(random.below(6) as i64);
                member["consent"] = json!({
                    "answer": if random.chance(90) { "yes" } else { "no" },
                    "replied_on": replied.format("%Y-%m-%d").to_string(),
                });
            }
        }
        let mut deposits = Vec::new();
        for _ in 0..random.below(3) {
            deposits
                .push(json!({ "balance": random.money(1_200_000), "mortgage": random.chance(30) }));
        }
        let mut loans = Vec::new();
        for _ in 0..random.below(3) {
            let issued = random.day_between(period_start - Duration::days(40), application);
            let mut loan = json!({
                "kind": random.pick(&["bank_loan", "microcredit", "mortgage"]),
                "issued_on": issued.format("%Y-%m-%d").to_string(),
                "amount": random.money(600_000),
            });
            if random.chance(30) {
                loan["overdue_days"] = json!(*random.pick(&[0, 30, 89, 90, 91, 200]));
            }
            loans.push(loan);
        }
        let mut expenses = Vec::new();
        for k in 0..random.below(4) {
            expenses.push(json!({ "month": month_text(add_months(period_start, k as i32)), "amount": random.money(300_000) }));
        }
        case["bank"] = json!({ "deposits": deposits, "loans": loans, "expenses": expenses });
        if random.chance(30) {
            let bought = random.day_between(add_months(application, -14), application);
            case["purchases"] = json!([{ "kind": random.pick(&["housing", "car"]), "date": bought.format("%Y-%m-%d").to_string() }]);
        }
    }
    case
}
