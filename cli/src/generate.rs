//! A seeded generator of realistic family cases (`ereje generate`, and the benchmark's
//! population).
//!
//! The same seed and index always give the same case, byte for byte: the generator uses its own
//! small permuted congruential generator (PCG-XSH-RR 64/32), never the system's randomness, and
//! writes each case's JSON by hand with a fixed key order. The families follow the shape of the
//! case schema (`shared/contract/case.schema.json`): one to nine members with roles, birth dates,
//! employment and education, monthly incomes around the income period (some of them support
//! payments that the policy excludes), assets, bank data, purchases, a social contract, and for
//! about a fifth of the families the expense-accounting pilot with each adult's consent reply.
//! Money is written half of the time as a JSON number and half as a string, sometimes with
//! tiyn, as real exports do.

use std::fmt::Write as _;

use chrono::{Datelike, Duration, NaiveDate};

/// A PCG-XSH-RR generator: 64 bits of state, 32 bits of output per step.
#[derive(Debug, Clone)]
pub struct Pcg32 {
    state: u64,
    increment: u64,
}

impl Pcg32 {
    const MULTIPLIER: u64 = 6_364_136_223_846_793_005;

    /// A generator for one stream; distinct streams give unrelated sequences.
    pub fn new(seed: u64, stream: u64) -> Pcg32 {
        let mut generator = Pcg32 {
            state: 0,
            increment: (stream << 1) | 1,
        };
        generator.next_u32();
        generator.state = generator.state.wrapping_add(seed);
        generator.next_u32();
        generator
    }

    pub fn next_u32(&mut self) -> u32 {
        let old = self.state;
        self.state = old
            .wrapping_mul(Self::MULTIPLIER)
            .wrapping_add(self.increment);
        let xorshifted = (((old >> 18) ^ old) >> 27) as u32;
        let rotation = (old >> 59) as u32;
        xorshifted.rotate_right(rotation)
    }

    /// A number in `low..=high` (a tiny modulo bias is of no consequence here).
    pub fn range(&mut self, low: i64, high: i64) -> i64 {
        if high <= low {
            return low;
        }
        let span = (high - low + 1) as u64;
        low + (u64::from(self.next_u32()) % span) as i64
    }

    /// True with probability `percent` in 100.
    pub fn chance(&mut self, percent: u32) -> bool {
        self.next_u32() % 100 < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let index = self.range(0, items.len() as i64 - 1) as usize;
        &items[index.min(items.len() - 1)]
    }
}

/// The values generated cases draw from: `population.toml` next to the policy (see the bundled
/// set's for what each list means). The Rust code writes the case schema's shape; which
/// regions, roles, kinds of employment, education, business, income and loan there are, and how
/// often each comes, is the data's.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Population {
    regions: Vec<String>,
    other_roles: Vec<String>,
    employment_working_age: Vec<String>,
    employment_retired: Vec<String>,
    employment_earning: Vec<String>,
    education: Vec<String>,
    registered_business: Vec<String>,
    other_incomes: Vec<String>,
    loan_kinds: Vec<String>,
}

/// The file of a policy directory that holds its [`Population`].
pub const POPULATION_FILE: &str = "population.toml";

impl Population {
    /// Reads the text of a `population.toml`; every list must hold a value.
    pub fn parse(text: &str) -> Result<Population, String> {
        let population: Population = toml::from_str(text).map_err(|error| error.to_string())?;
        let lists = [
            ("regions", &population.regions),
            ("other_roles", &population.other_roles),
            ("employment_working_age", &population.employment_working_age),
            ("employment_retired", &population.employment_retired),
            ("education", &population.education),
            ("registered_business", &population.registered_business),
            ("other_incomes", &population.other_incomes),
            ("loan_kinds", &population.loan_kinds),
        ];
        match lists.iter().find(|(_, list)| list.is_empty()) {
            Some((name, _)) => Err(format!("`{name}` is empty: a list needs a value to draw")),
            None => Ok(population),
        }
    }

    /// The population of the policy directory `policy_dir` ([`POPULATION_FILE`] in it).
    pub fn load(policy_dir: &std::path::Path) -> Result<Population, String> {
        let path = policy_dir.join(POPULATION_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|error| format!("cannot read `{}`: {error}", path.display()))?;
        Population::parse(&text).map_err(|error| format!("`{}`: {error}", path.display()))
    }

    /// The bundled policy set's population, the default of `ereje generate` and of the tests.
    pub fn bundled() -> Result<&'static Population, String> {
        static BUNDLED: std::sync::OnceLock<Result<Population, String>> =
            std::sync::OnceLock::new();
        BUNDLED
            .get_or_init(|| Population::parse(include_str!("../../policies/kz/population.toml")))
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// One of `items`, drawn as [`Pcg32::pick`] draws (an empty list, which [`Population::parse`]
/// refuses, gives "").
fn draw<'a>(random: &mut Pcg32, items: &'a [String]) -> &'a str {
    if items.is_empty() {
        return "";
    }
    random.pick(items).as_str()
}

/// The first day of the first month of the quarter before the one holding `date`.
fn income_period_start(date: NaiveDate) -> (i32, u32) {
    let quarter_first_month = (date.month() - 1) / 3 * 3 + 1;
    if quarter_first_month == 1 {
        (date.year() - 1, 10)
    } else {
        (date.year(), quarter_first_month - 3)
    }
}

fn add_month(year: i32, month: u32, offset: i32) -> (i32, u32) {
    let zero_based = year * 12 + month as i32 - 1 + offset;
    (
        zero_based.div_euclid(12),
        (zero_based.rem_euclid(12) + 1) as u32,
    )
}

/// Writes an amount of money: a JSON number or a string, whole tenge or with tiyn.
fn write_money(out: &mut String, random: &mut Pcg32, whole: i64) {
    let tiyn = if random.chance(20) {
        Some(random.range(0, 99))
    } else {
        None
    };
    let quoted = random.chance(50);
    if quoted {
        out.push('"');
    }
    let _ = write!(out, "{whole}");
    if let Some(tiyn) = tiyn {
        let _ = write!(out, ".{tiyn:02}");
    }
    if quoted {
        out.push('"');
    }
}

fn write_date(out: &mut String, date: NaiveDate) {
    let _ = write!(out, "\"{}\"", date.format("%Y-%m-%d"));
}

struct Person<'p> {
    role: &'p str,
    age: i64,
}

/// Writes case number `index` of the bundled population of `seed` as one line of JSON (no
/// newline).
pub fn write_case(out: &mut String, seed: u64, index: u64) {
    if let Ok(population) = Population::bundled() {
        write_case_of(population, out, seed, index);
    }
}

/// Writes case number `index` of `population` with `seed` as one line of JSON (no newline).
pub fn write_case_of(population: &Population, out: &mut String, seed: u64, index: u64) {
    let mut random = Pcg32::new(seed, index);
    // Applications over 2025, with a few in the first quarter of 2026.
    let Some(start) = NaiveDate::from_ymd_opt(2025, 1, 1) else {
        return;
    };
    let application = start + Duration::days(random.range(0, 454));
    let (period_year, period_month) = income_period_start(application);

    let mut people = vec![Person {
        role: "applicant",
        age: random.range(19, 72),
    }];
    if random.chance(65) {
        let applicant_age = people[0].age;
        people.push(Person {
            role: "spouse",
            age: (applicant_age + random.range(-6, 6)).clamp(18, 80),
        });
    }
    let children = if people[0].age < 55 {
        *random.pick(&[0, 1, 1, 2, 2, 2, 3, 3, 4, 5, 6])
    } else {
        *random.pick(&[0, 0, 0, 1])
    };
    for _ in 0..children {
        people.push(Person {
            role: "child",
            age: random.range(0, 17),
        });
    }
    if random.chance(12) {
        people.push(Person {
            role: "parent",
            age: random.range(58, 88),
        });
    }
    if random.chance(4) {
        let role = draw(&mut random, &population.other_roles);
        people.push(Person {
            role,
            age: random.range(1, 40),
        });
    }
    let pilot = random.chance(20);

    out.push_str("{\"case_id\":\"");
    let _ = write!(out, "g{seed}-{index:08}");
    out.push_str("\",\"application_date\":");
    write_date(out, application);
    let region = draw(&mut random, &population.regions);
    if !region.is_empty() {
        let _ = write!(out, ",\"region\":\"{region}\"");
    }
    out.push_str(",\"members\":[");
    for (position, person) in people.iter().enumerate() {
        if position > 0 {
            out.push(',');
        }
        let birth_year = application.year() - person.age as i32 - 1;
        let birth = NaiveDate::from_ymd_opt(birth_year, 1, 1)
            .map(|first| first + Duration::days(random.range(0, 364)))
            .unwrap_or(application);
        let _ = write!(
            out,
            "{{\"id\":\"m{}\",\"role\":\"{}\",\"birth_date\":",
            position + 1,
            person.role
        );
        write_date(out, birth);
        let female = random.chance(50);
        out.push_str(if female {
            ",\"sex\":\"female\""
        } else {
            ",\"sex\":\"male\""
        });
        let adult = person.age >= 18;
        let mut employed = false;
        if adult {
            let employment = if person.age >= 63 {
                draw(&mut random, &population.employment_retired)
            } else {
                draw(&mut random, &population.employment_working_age)
            };
            employed = population
                .employment_earning
                .iter()
                .any(|earning| earning == employment);
            let _ = write!(out, ",\"employment\":\"{employment}\"");
            let education = draw(&mut random, &population.education);
            let _ = write!(out, ",\"education\":\"{education}\"");
            if random.chance(5) {
                out.push_str(",\"carer\":true");
            }
            if person.age < 24 && random.chance(40) {
                out.push_str(",\"full_time_student\":true");
            }
            if random.chance(4) {
                let _ = write!(
                    out,
                    ",\"registered_business\":\"{}\"",
                    draw(&mut random, &population.registered_business)
                );
            }
        } else if random.chance(3) {
            out.push_str(",\"child_with_disability\":true");
        }
        if random.chance(4) {
            let _ = write!(out, ",\"disability_group\":{}", random.range(1, 3));
        }
        if random.chance(6) {
            out.push_str(",\"chronic_illness\":true");
        }
        if pilot && adult {
            let answer = if random.chance(88) { "yes" } else { "no" };
            let _ = write!(out, ",\"consent\":{{\"answer\":\"{answer}\"");
            if random.chance(95) {
                out.push_str(",\"replied_on\":");
                write_date(out, application + Duration::days(random.range(0, 3)));
            }
            out.push('}');
        }
        // Incomes: monthly pay for the working, pensions for the old, support payments now and
        // then; mostly in the income period, sometimes outside it.
        let mut incomes = Vec::new();
        if employed {
            let salary = random.range(40_000, 450_000);
            for offset in 0..3 {
                if random.chance(85) {
                    let kind = if random.chance(80) {
                        "salary"
                    } else {
                        "self_employment"
                    };
                    incomes.push((kind, add_month(period_year, period_month, offset), salary));
                }
            }
        }
        if person.age >= 61 {
            let pension = random.range(60_000, 160_000);
            for offset in 0..3 {
                incomes.push((
                    "pension",
                    add_month(period_year, period_month, offset),
                    pension,
                ));
            }
        }
        if random.chance(10) {
            let kind = draw(&mut random, &population.other_incomes);
            incomes.push((
                kind,
                add_month(period_year, period_month, random.range(-3, 3) as i32),
                random.range(3_000, 90_000),
            ));
        }
        if !incomes.is_empty() {
            out.push_str(",\"incomes\":[");
            for (number, (kind, (year, month), amount)) in incomes.iter().enumerate() {
                if number > 0 {
                    out.push(',');
                }
                let _ = write!(
                    out,
                    "{{\"kind\":\"{kind}\",\"month\":\"{year:04}-{month:02}\",\"amount\":"
                );
                write_money(out, &mut random, *amount);
                out.push('}');
            }
            out.push(']');
        }
        out.push('}');
    }
    out.push(']');

    if random.chance(75) {
        let _ = write!(
            out,
            ",\"assets\":{{\"housing_units\":{},\"renting\":{},\"vehicles\":{}",
            random.pick(&[0, 1, 1, 1, 2]),
            random.chance(20),
            random.pick(&[0, 0, 0, 1, 1, 2]),
        );
        if random.chance(20) {
            let _ = write!(out, ",\"land_plots\":{}", random.range(1, 2));
        }
        if random.chance(10) {
            let _ = write!(out, ",\"livestock_heads\":{}", random.range(1, 30));
        }
        out.push('}');
    }
    if pilot || random.chance(30) {
        out.push_str(",\"bank\":{\"deposits\":[");
        for number in 0..random.range(0, 2) {
            if number > 0 {
                out.push(',');
            }
            out.push_str("{\"balance\":");
            let amount = random.range(0, 3_000_000);
            write_money(out, &mut random, amount);
            if random.chance(20) {
                out.push_str(",\"mortgage\":true");
            }
            out.push('}');
        }
        out.push_str("],\"loans\":[");
        for number in 0..random.range(0, 2) {
            if number > 0 {
                out.push(',');
            }
            let kind = draw(&mut random, &population.loan_kinds);
            let _ = write!(out, "{{\"kind\":\"{kind}\",\"issued_on\":");
            write_date(out, application - Duration::days(random.range(10, 400)));
            out.push_str(",\"amount\":");
            let amount = random.range(50_000, 2_500_000);
            write_money(out, &mut random, amount);
            if random.chance(10) {
                let _ = write!(out, ",\"overdue_days\":{}", random.range(1, 200));
            }
            out.push('}');
        }
        out.push_str("],\"expenses\":[");
        for offset in 0..3 {
            if offset > 0 {
                out.push(',');
            }
            let (year, month) = add_month(period_year, period_month, offset);
            let _ = write!(out, "{{\"month\":\"{year:04}-{month:02}\",\"amount\":");
            let amount = random.range(10_000, 600_000);
            write_money(out, &mut random, amount);
            out.push('}');
        }
        out.push_str("]}");
    }
    if random.chance(5) {
        let kind = if random.chance(50) { "housing" } else { "car" };
        let _ = write!(out, ",\"purchases\":[{{\"kind\":\"{kind}\",\"date\":");
        write_date(out, application - Duration::days(random.range(0, 700)));
        out.push_str(",\"amount\":");
        let amount = random.range(1_000_000, 30_000_000);
        write_money(out, &mut random, amount);
        out.push_str("}]");
    }
    if random.chance(90) {
        let _ = write!(
            out,
            ",\"social_contract\":{{\"signed\":{}",
            random.chance(85)
        );
        if random.chance(6) {
            out.push_str(",\"terminated_on\":");
            write_date(out, application - Duration::days(random.range(20, 400)));
        }
        out.push('}');
    }
    if pilot {
        out.push_str(",\"pilot\":{\"enrolled\":true,\"sms_sent_on\":");
        write_date(out, application);
        out.push('}');
    } else if random.chance(5) {
        out.push_str(",\"pilot\":{\"enrolled\":false}");
    }
    out.push('}');
}

/// The population of `seed`: `count` cases, one JSON line each, newline-terminated.
pub fn write_population(out: &mut String, seed: u64, count: u64) {
    if let Ok(population) = Population::bundled() {
        write_population_of(population, out, seed, count);
    }
}

/// The cases of `population` with `seed`: `count` of them, one JSON line each.
pub fn write_population_of(population: &Population, out: &mut String, seed: u64, count: u64) {
    for index in 0..count {
        write_case_of(population, out, seed, index);
        out.push('\n');
    }
}

/// A reader that produces the population of `seed` on the fly, so a million-case run needs no
/// file and holds only one chunk of text at a time.
pub struct PopulationReader {
    population: Population,
    seed: u64,
    next_index: u64,
    count: u64,
    buffer: Vec<u8>,
    position: usize,
}

impl PopulationReader {
    /// The cases of the bundled population (none if its file were unreadable, which a test
    /// rules out).
    pub fn new(seed: u64, count: u64) -> PopulationReader {
        match Population::bundled() {
            Ok(population) => PopulationReader::of(population.clone(), seed, count),
            Err(_) => PopulationReader::of(Population::default(), seed, 0),
        }
    }

    /// The cases of `population` with `seed`.
    pub fn of(population: Population, seed: u64, count: u64) -> PopulationReader {
        PopulationReader {
            population,
            seed,
            next_index: 0,
            count,
            buffer: Vec::new(),
            position: 0,
        }
    }
}

impl std::io::Read for PopulationReader {
    fn read(&mut self, target: &mut [u8]) -> std::io::Result<usize> {
        if self.position >= self.buffer.len() {
            if self.next_index >= self.count {
                return Ok(0);
            }
            let mut text = String::with_capacity(64 * 1024);
            while self.next_index < self.count && text.len() < 60 * 1024 {
                write_case_of(&self.population, &mut text, self.seed, self.next_index);
                text.push('\n');
                self.next_index += 1;
            }
            self.buffer = text.into_bytes();
            self.position = 0;
        }
        let available = &self.buffer[self.position..];
        let length = available.len().min(target.len());
        target[..length].copy_from_slice(&available[..length]);
        self.position += length;
        Ok(length)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_population_and_another_seed_another() {
        let mut first = String::new();
        let mut again = String::new();
        let mut other = String::new();
        write_population(&mut first, 7, 50);
        write_population(&mut again, 7, 50);
        write_population(&mut other, 8, 50);
        assert_eq!(first, again);
        assert_ne!(first, other);
    }

    #[test]
    fn the_bundled_population_reads_and_an_empty_list_is_refused() {
        assert!(Population::bundled().is_ok());
        let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/kz");
        let loaded = Population::load(&directory).unwrap();
        let mut from_file = String::new();
        write_population_of(&loaded, &mut from_file, 9, 50);
        let mut bundled = String::new();
        write_population(&mut bundled, 9, 50);
        assert_eq!(from_file, bundled);
        let text = include_str!("../../policies/kz/population.toml").replace(
            r#"loan_kinds = ["bank_loan", "microcredit", "mortgage"]"#,
            "loan_kinds = []",
        );
        let error = Population::parse(&text).unwrap_err();
        assert!(error.contains("`loan_kinds` is empty"), "{error}");
        // Only regions from the file: a new one appears, a removed one never does.
        let text = include_str!("../../policies/kz/population.toml")
            .replace(r#""aktobe""#, r#""turkistan""#);
        let mut cases = String::new();
        write_population_of(&Population::parse(&text).unwrap(), &mut cases, 9, 400);
        assert!(cases.contains("turkistan") && !cases.contains("aktobe"));
    }

    #[test]
    fn every_generated_line_is_a_json_object() {
        let mut text = String::new();
        write_population(&mut text, 3, 200);
        for line in text.lines() {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            assert!(value.is_object(), "{line}");
        }
    }

    #[test]
    fn the_population_reader_gives_the_written_population() {
        let mut expected = String::new();
        write_population(&mut expected, 5, 1500);
        let mut read = String::new();
        std::io::Read::read_to_string(&mut PopulationReader::new(5, 1500), &mut read).unwrap();
        assert_eq!(read, expected);
    }
}

#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    /// How many cases.
    #[arg(long, default_value_t = 10_000)]
    pub cases: u64,
    /// The seed: the same seed gives the same population, byte for byte.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Where to write the JSON Lines (stdout without it).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    /// The policy directory whose `population.toml` gives the values to draw (the bundled kz
    /// set's without it).
    #[arg(long, value_name = "DIR")]
    pub policy_dir: Option<std::path::PathBuf>,
}

/// Runs `ereje generate` and returns its exit code.
pub fn command(args: &GenerateArgs) -> u8 {
    let mut reader = match &args.policy_dir {
        Some(directory) => match Population::load(directory) {
            Ok(population) => PopulationReader::of(population, args.seed, args.cases),
            Err(message) => {
                return crate::fail(miette::miette!(code = "generate::population", "{message}"))
            }
        },
        None => PopulationReader::new(args.seed, args.cases),
    };
    let written = match &args.output {
        Some(path) => std::fs::File::create(path).and_then(|file| {
            let mut writer = std::io::BufWriter::with_capacity(1 << 20, file);
            std::io::copy(&mut reader, &mut writer)?;
            std::io::Write::flush(&mut writer)
        }),
        None => {
            let mut writer = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
            std::io::copy(&mut reader, &mut writer).and_then(|_| std::io::Write::flush(&mut writer))
        }
    };
    match written {
        Ok(()) => crate::EXIT_OK,
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => crate::EXIT_OK,
        Err(error) => crate::fail(miette::miette!(
            code = "io::output",
            "cannot write the population: {error}"
        )),
    }
}
