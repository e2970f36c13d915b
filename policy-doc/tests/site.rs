#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The site of the bundled kz policies: every rule id of the brief has its page, every link
//! resolves, nothing is loaded from anywhere, the same policy gives the same bytes, snapshots of
//! a few pages, and the index and a rule page rendered and searched in headless Chromium.

use std::collections::BTreeSet;
use std::io::Read as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ereje_policy_doc::{build, DocOptions, Lang, Site, CONTENT_SECURITY_POLICY};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate is in the repository")
        .to_path_buf()
}

fn kz_site(lang: Lang) -> Site {
    build(&repository().join("policies/kz"), &DocOptions { lang }).expect("the kz site builds")
}

/// The rule ids the brief names (`ASP-…`, `PILOT-…`, `WELL-…`, `LOCAL-…`).
fn brief_rule_ids() -> BTreeSet<String> {
    let brief = std::fs::read_to_string(repository().join("../shared/policy-brief.md"))
        .expect("shared/policy-brief.md");
    let mut ids = BTreeSet::new();
    for word in brief.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
        let word = word.trim_end_matches('-');
        let known = ["ASP-", "PILOT-", "WELL-", "LOCAL-"];
        let upper = word
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-');
        if upper
            && known
                .iter()
                .any(|prefix| word.len() > prefix.len() && word.starts_with(prefix))
        {
            ids.insert(word.to_string());
        }
    }
    ids
}

#[test]
fn every_rule_id_of_the_brief_has_its_page() {
    let ids = brief_rule_ids();
    // ASP 12, PILOT 5, WELL 23 + 2 overrides, LOCAL 2.
    assert!(ids.len() >= 44, "too few ids read from the brief: {ids:?}");
    let site = kz_site(Lang::En);
    let index = site.page("index.html").expect("an index");
    for id in &ids {
        let file = format!("rule-{id}.html");
        let page = site
            .page(&file)
            .unwrap_or_else(|| panic!("no page for {id}"));
        assert!(
            page.html.contains(&format!("<h1 id=\"name\">{id}</h1>")),
            "{file} is not about {id}"
        );
        assert!(
            page.html.contains("<span class=\"lang\">ru</span>"),
            "{file}"
        );
        assert!(
            page.html.contains("<span class=\"lang\">kk</span>"),
            "{file}"
        );
        assert!(
            page.html.contains("<span class=\"lang\">en</span>"),
            "{file}"
        );
        assert!(page.html.contains("class=\"source\""), "{file}");
        assert!(
            index.html.contains(&format!("<a href=\"{file}\">{id}</a>")),
            "the index does not link {file}"
        );
    }
}

/// Every value of `attribute="…"` in a page.
fn attribute_values<'h>(html: &'h str, attribute: &str) -> Vec<&'h str> {
    let marker = format!(" {attribute}=\"");
    html.split(&marker)
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect()
}

/// The site's path of the page `href` leads to from the page at `from` (a version's pages are
/// in a directory of their own and lead to the top with `../`).
fn resolve(from: &str, href: &str) -> String {
    let mut parts: Vec<&str> = from.split('/').collect();
    parts.pop();
    for part in href.split('/') {
        match part {
            ".." => {
                assert!(parts.pop().is_some(), "{from}: {href} leaves the site");
            }
            "." | "" => {}
            other => parts.push(other),
        }
    }
    parts.join("/")
}

#[test]
fn links_resolve_across_directories() {
    assert_eq!(resolve("index.html", "rule-A.html"), "rule-A.html");
    assert_eq!(
        resolve("v-x/rule-A.html", "../versions.html"),
        "versions.html"
    );
    assert_eq!(resolve("v-x/rule-A.html", "rule-B.html"), "v-x/rule-B.html");
    assert_eq!(resolve("rule-A.html", "v-x/rule-A.html"), "v-x/rule-A.html");
}

#[test]
fn every_internal_link_resolves() {
    for lang in [Lang::Ru, Lang::Kk, Lang::En] {
        let site = kz_site(lang);
        let mut links = 0;
        for page in &site.pages {
            for href in attribute_values(&page.html, "href") {
                let (file, fragment) = href.split_once('#').unwrap_or((href, ""));
                let file = resolve(&page.file, file);
                let target = site
                    .page(&file)
                    .unwrap_or_else(|| panic!("{}: dangling link {href}", page.file));
                if !fragment.is_empty() {
                    assert!(
                        target.html.contains(&format!("id=\"{fragment}\"")),
                        "{}: no anchor for {href}",
                        page.file
                    );
                }
                links += 1;
            }
        }
        assert!(links > 1000, "too few links: {links}");
    }
}

#[test]
fn pages_load_nothing_and_every_page_is_linked_from_its_versions_index() {
    let site = kz_site(Lang::Ru);
    // Each version's index links its pages; the site's index links the other versions' indexes.
    let mut linked: BTreeSet<String> = BTreeSet::new();
    for index in site
        .pages
        .iter()
        .filter(|page| page.file.ends_with("index.html"))
    {
        for href in attribute_values(&index.html, "href") {
            let file = href.split('#').next().unwrap_or_default();
            linked.insert(resolve(&index.file, file));
        }
    }
    assert!(
        site.pages.iter().any(|page| page.file.starts_with("v-")),
        "no other version has pages"
    );
    for page in &site.pages {
        let html = &page.html;
        assert!(
            html.contains(&format!(
                "<meta http-equiv=\"Content-Security-Policy\" content=\"{CONTENT_SECURITY_POLICY}\">"
            )),
            "{}: no content security policy",
            page.file
        );
        for forbidden in [
            "http://",
            "https://",
            "//",
            "url(",
            "@import",
            " src=",
            "<link",
            "<img",
            "<iframe",
            "fetch(",
            "XMLHttpRequest",
        ] {
            let found = match forbidden {
                // `//` is allowed nowhere but in JavaScript comments, which the script has none of.
                "//" => attribute_values(html, "href")
                    .iter()
                    .any(|href| href.contains("//")),
                _ => html.contains(forbidden),
            };
            assert!(!found, "{}: {forbidden} in the page", page.file);
        }
        assert!(
            page.file == "index.html" || linked.contains(&page.file),
            "no index links {}",
            page.file
        );
    }
    assert!(CONTENT_SECURITY_POLICY.starts_with("default-src 'none'"));
}

#[test]
fn the_same_policy_gives_the_same_bytes_and_languages_differ() {
    let first = kz_site(Lang::Kk);
    let second = kz_site(Lang::Kk);
    assert_eq!(first, second);
    let english = kz_site(Lang::En);
    assert_eq!(first.pages.len(), english.pages.len());
    let kk = first.page("index.html").expect("index").html.as_str();
    let en = english.page("index.html").expect("index").html.as_str();
    assert!(
        kk.contains("<html lang=\"kk\">") && kk.contains("Іздеу"),
        "kk index"
    );
    assert!(
        en.contains("<html lang=\"en\">") && en.contains("Search"),
        "en index"
    );
}

#[test]
fn written_site_is_the_built_one() {
    let site = kz_site(Lang::En);
    let directory = std::env::temp_dir().join(format!("ereje-doc-write-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    site.write(&directory).expect("the site is written");
    for page in &site.pages {
        let written = std::fs::read_to_string(directory.join(&page.file)).expect("a page");
        assert_eq!(written, page.html, "{}", page.file);
    }
    let mut count = 0;
    let mut directories = vec![directory.clone()];
    while let Some(next) = directories.pop() {
        for entry in std::fs::read_dir(&next).expect("a directory") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                directories.push(path);
            } else {
                count += 1;
            }
        }
    }
    assert_eq!(count, site.pages.len());
    let _ = std::fs::remove_dir_all(&directory);
}

/// The search index embedded in an index page: kind, name, page, words, summary.
fn search_entries(index: &str) -> Vec<Vec<String>> {
    let data = index
        .split("<script type=\"application/json\" id=\"search-data\">")
        .nth(1)
        .and_then(|rest| rest.split("</script>").next())
        .expect("the embedded search index");
    serde_json::from_str(data).expect("JSON")
}

#[test]
fn the_search_index_holds_every_page_and_its_words() {
    let site = kz_site(Lang::En);
    // Every page is found by the search of its version's index.
    for page in &site.pages {
        let (directory, file) = page.file.rsplit_once('/').unwrap_or(("", &page.file));
        if file == "index.html" || page.file == "versions.html" {
            continue;
        }
        let index_file = if directory.is_empty() {
            "index.html".to_string()
        } else {
            format!("{directory}/index.html")
        };
        let index = &site.page(&index_file).expect("its version's index").html;
        assert!(
            search_entries(index).iter().any(|entry| entry[2] == file),
            "{} is not searchable",
            page.file
        );
    }
    let entries = search_entries(&site.page("index.html").expect("index").html);
    let income_test = entries
        .iter()
        .find(|entry| entry[1] == "ASP-INCOME-TEST")
        .expect("ASP-INCOME-TEST is searchable");
    assert!(income_test[3].contains("черты бедности"), "{income_test:?}");
    assert!(
        income_test[3].contains("Социальный кодекс"),
        "{income_test:?}"
    );
}

#[test]
fn snapshots_of_a_few_pages() {
    let en = kz_site(Lang::En);
    let ru = kz_site(Lang::Ru);
    let kk = kz_site(Lang::Kk);
    // The main part of a page: the frame (style, header) is the same on every page.
    let page = |site: &Site, file: &str| {
        let html = &site.page(file).expect(file).html;
        let main = html
            .split("<main>")
            .nth(1)
            .and_then(|rest| rest.split("</main>").next());
        main.expect("a <main> part").to_string()
    };
    insta::assert_snapshot!(
        "rule_asp_income_test_en",
        page(&en, "rule-ASP-INCOME-TEST.html")
    );
    insta::assert_snapshot!(
        "definition_category_ru",
        page(&ru, "definition-category.html")
    );
    insta::assert_snapshot!("parameter_mrp_ru", page(&ru, "parameter-MRP.html"));
    insta::assert_snapshot!(
        "bands_category_kk",
        page(&kk, "bands-WELL_CATEGORY_BANDS.html")
    );
    insta::assert_snapshot!(
        "table_regional_poverty_en",
        page(&en, "table-REGIONAL_POVERTY.html")
    );
    insta::assert_snapshot!("versions_en", page(&en, "versions.html"));
}

// ------------------------------------------------------------------ in a browser

const CHROMIUM: &str = "/usr/bin/chromium";

fn chromium(profile: &Path, args: &[&str]) -> std::process::Output {
    Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("chromium runs")
}

/// The index and a rule page render to screenshots that are not blank (on a desktop and on a
/// phone's width), the index prints to a PDF, and the search finds a rule by a Russian word of its message: a script
/// added to the page types into the search box and writes the results into the DOM, which
/// Chromium dumps.
#[test]
fn index_and_rule_page_render_and_search_in_chromium() {
    if !Path::new(CHROMIUM).exists() {
        eprintln!("skipped: {CHROMIUM} is not installed (apt-get install -y chromium)");
        return;
    }
    let site = kz_site(Lang::Ru);
    let directory = std::env::temp_dir().join(format!("ereje-doc-chromium-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    site.write(&directory).expect("the site is written");
    for (file, width, least) in [
        ("index.html", "1200,1600", 60_000),
        ("rule-ASP-INCOME-TEST.html", "1200,1600", 30_000),
        ("rule-PILOT-PURCHASE.html", "390,844", 20_000),
        ("record-Member.html", "1200,1600", 30_000),
        ("versions.html", "1200,1600", 30_000),
        ("v-2025.2-draft/rule-PILOT-LOANS.html", "1200,1600", 30_000),
    ] {
        let shot = directory.join(format!("{}-{width}.png", file.replace('/', "_")));
        let output = chromium(
            &directory.join("profile-shot"),
            &[
                &format!("--screenshot={}", shot.display()),
                &format!("--window-size={width}"),
                &format!("file://{}", directory.join(file).display()),
            ],
        );
        let png = std::fs::read(&shot).unwrap_or_else(|_| {
            panic!("no screenshot: {}", String::from_utf8_lossy(&output.stderr))
        });
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        // A blank page compresses to a few kilobytes; text and tables do not.
        assert!(png.len() > least, "{file} looks blank: {} bytes", png.len());
    }

    // The index prints (the search box is hidden in print).
    let pdf = directory.join("index.pdf");
    let output = chromium(
        &directory.join("profile-pdf"),
        &[
            "--no-pdf-header-footer",
            &format!("--print-to-pdf={}", pdf.display()),
            &format!("file://{}", directory.join("index.html").display()),
        ],
    );
    let bytes = std::fs::read(&pdf)
        .unwrap_or_else(|_| panic!("no PDF: {}", String::from_utf8_lossy(&output.stderr)));
    assert!(bytes.starts_with(b"%PDF"), "not a PDF");
    assert!(bytes.len() > 20_000, "PDF too small: {} bytes", bytes.len());

    let index = &site.page("index.html").expect("index").html;
    let probe = index.replace(
        "</body>",
        "<script>(function(){var input=document.getElementById('search');\
         input.value='черты бедности';input.dispatchEvent(new Event('input'));\
         var links=Array.prototype.map.call(document.querySelectorAll('#results a'),function(a){return a.textContent;});\
         input.value='нет такого слова';input.dispatchEvent(new Event('input'));\
         var none=document.querySelectorAll('#results a').length;\
         document.body.setAttribute('data-probe','found='+links.join(',')+' none='+none);})();</script></body>",
    );
    let probe_page = directory.join("probe.html");
    std::fs::write(&probe_page, probe).expect("the probe page");
    let output = chromium(
        &directory.join("profile-dom"),
        &[
            "--run-all-compositor-stages-before-draw",
            "--virtual-time-budget=2000",
            "--dump-dom",
            &format!("file://{}", probe_page.display()),
        ],
    );
    let dom = String::from_utf8_lossy(&output.stdout);
    let probe = dom
        .split("data-probe=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| {
            panic!(
                "no probe in the DOM: {}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    assert!(probe.contains("ASP-INCOME-TEST"), "{probe}");
    assert!(probe.contains("PILOT-EXPENSES"), "{probe}");
    assert!(probe.ends_with(" none=0"), "{probe}");
    let _ = std::fs::remove_dir_all(&directory);
}

/// The first line of every request Chromium sends while it loads `page`: every request goes to
/// a proxy of our own on 127.0.0.1 (a free port), which answers nothing, so nothing reaches
/// the network and every request is seen.
fn requests_while_loading(profile: &Path, page: &Path) -> Vec<String> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = Arc::clone(&stop);
    let proxy = std::thread::spawn(move || {
        let mut seen = Vec::new();
        while !stopped.load(Ordering::SeqCst) {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    let _ = stream.set_nonblocking(false);
                    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
                    let mut buffer = [0u8; 512];
                    let read = stream.read(&mut buffer).unwrap_or(0);
                    let text = String::from_utf8_lossy(&buffer[..read]).into_owned();
                    seen.push(text.lines().next().unwrap_or_default().to_string());
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        seen
    });
    chromium(
        profile,
        &[
            &format!("--proxy-server=http://127.0.0.1:{port}"),
            "--proxy-bypass-list=<-loopback>",
            "--run-all-compositor-stages-before-draw",
            "--virtual-time-budget=2000",
            "--dump-dom",
            &format!("file://{}", page.display()),
        ],
    );
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::SeqCst);
    proxy.join().unwrap()
}

/// The requests a page made: all but the browser's own (time, updates, accounts), which go to
/// Google's hosts whatever the page.
fn page_requests(requests: Vec<String>) -> Vec<String> {
    requests
        .into_iter()
        .filter(|line| {
            let host = line
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .trim_start_matches("http://")
                .trim_start_matches("https://");
            let host = host.split(['/', ':']).next().unwrap_or_default();
            !["google.com", "googleapis.com", "gstatic.com"]
                .iter()
                .any(|own| host == *own || host.ends_with(&format!(".{own}")))
        })
        .collect()
}

/// The pages make no network request in a real browser. The check is shown able to see one: a
/// copy of the index with an image from the network and without its content security policy
/// requests it; with the policy, the same image is blocked.
#[test]
fn pages_make_no_network_request_in_chromium() {
    if !Path::new(CHROMIUM).exists() {
        eprintln!("skipped: {CHROMIUM} is not installed (apt-get install -y chromium)");
        return;
    }
    let site = kz_site(Lang::En);
    let directory = std::env::temp_dir().join(format!("ereje-doc-network-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    site.write(&directory).expect("the site is written");
    let profile = directory.join("profile");
    for file in [
        "index.html",
        "rule-ASP-INCOME-TEST.html",
        "versions.html",
        "record-Member.html",
        "enum-Role.html",
        "v-2025.2-draft/index.html",
        "v-2025.2-draft/rule-DRAFT-CARS.html",
    ] {
        let requests = page_requests(requests_while_loading(&profile, &directory.join(file)));
        assert!(requests.is_empty(), "{file} made requests: {requests:?}");
    }
    let index = &site.page("index.html").expect("index").html;
    let image = "<img src=\"http://example.invalid/leak.png\"></body>";
    let with_policy = index.replace("</body>", image);
    let without_policy =
        with_policy.replace("http-equiv=\"Content-Security-Policy\"", "name=\"x\"");
    assert_ne!(with_policy, without_policy);
    for (file, html, leaks) in [
        ("without-policy.html", without_policy, true),
        ("with-policy.html", with_policy, false),
    ] {
        std::fs::write(directory.join(file), html).expect("the control page");
        let requests = page_requests(requests_while_loading(&profile, &directory.join(file)));
        let leaked = requests.iter().any(|line| line.contains("example.invalid"));
        assert_eq!(leaked, leaks, "{file}: {requests:?}");
    }
    let _ = std::fs::remove_dir_all(&directory);
}

#[test]
fn an_override_and_the_value_it_overrides_link_each_other() {
    let site = kz_site(Lang::En);
    let category = &site
        .page("definition-category.html")
        .expect("category")
        .html;
    let high = &site.page("rule-WELL-HIGH.html").expect("WELL-HIGH").html;
    assert!(category.contains("<td><a href=\"rule-WELL-HIGH.html\">WELL-HIGH</a></td>"));
    let exception_to = high
        .split("<h2>An exception to</h2>")
        .nth(1)
        .and_then(|rest| rest.split("</ul>").next())
        .expect("WELL-HIGH says what it is an exception to");
    assert!(
        exception_to.contains("href=\"definition-category.html\""),
        "{exception_to}"
    );
}

/// Every version has its pages: the documented one (2025.1) at the top, the draft in
/// `v-2025.2-draft/`; each page's switcher leads to the same page in the other version, or to
/// that version's index when the other version has no such page.
#[test]
fn every_version_has_its_pages_and_a_switcher_between_them() {
    let site = kz_site(Lang::En);
    let draft = "v-2025.2-draft/";
    let top = site
        .page("rule-PILOT-LOANS.html")
        .expect("top")
        .html
        .as_str();
    let in_draft = site
        .page(&format!("{draft}rule-PILOT-LOANS.html"))
        .expect("the draft's PILOT-LOANS")
        .html
        .as_str();
    assert!(
        top.contains("<nav class=\"switch\">Version: <b>2025.1</b><a href=\"v-2025.2-draft/rule-PILOT-LOANS.html\">2025.2-draft</a></nav>"),
        "{top}"
    );
    assert!(
        in_draft.contains("<nav class=\"switch\">Version: <a href=\"../rule-PILOT-LOANS.html\">2025.1</a><b>2025.2-draft</b></nav>"),
        "{in_draft}"
    );
    assert!(
        in_draft.contains("<a href=\"../versions.html\">"),
        "{in_draft}"
    );
    // A rule of one version only: its page is in that version, the switcher leads to the
    // other's index.
    assert!(site
        .page(&format!("{draft}rule-PILOT-PURCHASE.html"))
        .is_none());
    assert!(site.page("rule-DRAFT-CARS.html").is_none());
    let cars = site
        .page(&format!("{draft}rule-DRAFT-CARS.html"))
        .expect("the draft's DRAFT-CARS")
        .html
        .as_str();
    assert!(
        cars.contains("<a href=\"../index.html\">2025.1</a>"),
        "{cars}"
    );
    // Each version's parameters have their own pages, with that version's values.
    assert!(site
        .page(&format!("{draft}parameter-DRAFT_CARS_MAX_VEHICLES.html"))
        .is_some());
    assert!(site
        .page("parameter-DRAFT_CARS_MAX_VEHICLES.html")
        .is_none());
    let draft_index = site
        .page(&format!("{draft}index.html"))
        .expect("the draft's index")
        .html
        .as_str();
    assert!(
        draft_index.contains("<a href=\"rule-DRAFT-CARS.html\">DRAFT-CARS</a>"),
        "the draft's index does not list its own rule"
    );
}

/// The versions page speaks the page's language and links every changed thing to its page in
/// both versions (in the version that has it, for one added or removed).
#[test]
fn the_versions_page_is_in_the_pages_language_and_links_both_versions() {
    let ru = kz_site(Lang::Ru);
    let versions = &ru.page("versions.html").expect("versions").html;
    assert!(versions.contains("<th>Изменение</th>"), "{versions}");
    assert!(!versions.contains("<th>change</th>"), "{versions}");
    assert!(
        versions.contains("<td>Модуль</td><td><code>kz.asp.pilot</code>"),
        "{versions}"
    );
    assert!(
        versions.contains("<code>PILOT-LOANS</code> <a href=\"rule-PILOT-LOANS.html\">2025.1</a> · <a href=\"v-2025.2-draft/rule-PILOT-LOANS.html\">2025.2-draft</a></td><td>изменено</td>"),
        "{versions}"
    );
    assert!(
        versions.contains("<code>PILOT-PURCHASE</code> <a href=\"rule-PILOT-PURCHASE.html\">2025.1</a></td><td>удалено</td>"),
        "{versions}"
    );
    assert!(
        versions.contains("<code>DRAFT-CARS</code> <a href=\"v-2025.2-draft/rule-DRAFT-CARS.html\">2025.2-draft</a></td><td>добавлено</td>"),
        "{versions}"
    );
    let kk = kz_site(Lang::Kk);
    let versions = &kk.page("versions.html").expect("versions").html;
    assert!(versions.contains("<td>өзгертілді</td>"), "{versions}");
}

/// Records and enumerations have their pages (fields with types and labels, values with their
/// JSON and labels, in the page's language), linked from what reads them, and are searchable.
#[test]
fn records_and_enumerations_have_pages_linked_from_what_uses_them() {
    let ru = kz_site(Lang::Ru);
    let member = &ru
        .page("record-Member.html")
        .expect("the Member record")
        .html;
    assert!(
        member.contains("<tr><td><code>role</code></td><td><a href=\"enum-Role.html\"><code>Role?</code></a></td><td></td><td></td><td>роль в семье</td></tr>"),
        "{member}"
    );
    assert!(
        member.contains("<tr><td><code>birth_date</code></td><td><code>Date</code></td><td>✓</td>"),
        "{member}"
    );
    let role = &ru
        .page("enum-Role.html")
        .expect("the Role enumeration")
        .html;
    assert!(
        role.contains(
            "<tr><td><code>applicant</code></td><td><code>&quot;applicant&quot;</code></td><td>"
        ),
        "{role}"
    );
    // Every label of Role is on its page.
    assert!(
        !role.contains("</code></td><td></td></tr>"),
        "a value without its label: {role}"
    );
    // What reads the case's members links to the record, and the record lists what uses it.
    let users: Vec<&str> = ru
        .pages
        .iter()
        .filter(|page| {
            !page.file.starts_with("v-")
                && (page.file.starts_with("rule-") || page.file.starts_with("definition-"))
                && page
                    .html
                    .contains("<a href=\"record-Member.html\">Member</a>")
        })
        .map(|page| page.file.as_str())
        .collect();
    assert!(
        users.len() >= 5,
        "too few pages link the Member record: {users:?}"
    );
    for user in &users {
        assert!(
            member.contains(&format!("<a href=\"{user}\">")),
            "{user} not listed on Member"
        );
    }
    let index = &ru.page("index.html").expect("index").html;
    assert!(index.contains("<a href=\"record-Member.html\">Member</a>"));
    assert!(index.contains("<a href=\"enum-Role.html\">Role</a>"));
}
