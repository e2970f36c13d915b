//! The pages' frame, words and escaping: server-rendered HTML, one stylesheet and one small
//! script, both inline under the response's CSP nonce, nothing loaded from anywhere.

/// The language of the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Ru,
    Kk,
    En,
}

/// The words of the pages in one language.
pub struct Words {
    pub app: &'static str,
    pub sign_in: &'static str,
    pub sign_out: &'static str,
    pub login: &'static str,
    pub password: &'static str,
    pub bad_sign_in: &'static str,
    pub too_many: &'static str,
    pub home: &'static str,
    pub new_survey: &'static str,
    pub waiting: &'static str,
    pub nothing_waits: &'static str,
    pub conclusions: &'static str,
    pub survey: &'static str,
    pub revision: &'static str,
    pub save: &'static str,
    pub add: &'static str,
    pub remove: &'static str,
    pub yes: &'static str,
    pub no: &'static str,
    pub location: &'static str,
    pub locating: &'static str,
    pub located: &'static str,
    pub no_location: &'static str,
    pub errors: &'static str,
    pub conclusion: &'static str,
    pub status: &'static str,
    pub policy: &'static str,
    pub decision: &'static str,
    pub explanation: &'static str,
    pub send: &'static str,
    pub sign: &'static str,
    pub decline: &'static str,
    pub reason: &'static str,
    pub signatures: &'static str,
    pub correct: &'static str,
    pub print: &'static str,
    pub revisions: &'static str,
    pub author: &'static str,
    pub saved: &'static str,
    pub commission: &'static str,
    pub member: &'static str,
    pub awaiting: &'static str,
    pub case: &'static str,
    pub forbidden: &'static str,
    pub read_only: &'static str,
    pub not_found: &'static str,
    pub refused: &'static str,
    pub statuses: [(&'static str, &'static str); 4],
    pub verdicts: [(&'static str, &'static str); 2],
}

const RU: Words = Words {
    app: "Участковая комиссия",
    sign_in: "Войти",
    sign_out: "Выйти",
    login: "Логин",
    password: "Пароль",
    bad_sign_in: "Неверный логин или пароль.",
    too_many: "Слишком много неудачных попыток. Попробуйте позже.",
    home: "Главная",
    new_survey: "Новое обследование",
    waiting: "Ждут вашей подписи",
    nothing_waits: "Ничего не ждёт вашей подписи.",
    conclusions: "Заключения комиссии",
    survey: "Обследование",
    revision: "редакция",
    save: "Сохранить и получить заключение",
    add: "добавить",
    remove: "удалить",
    yes: "да",
    no: "нет",
    location: "Место обследования",
    locating: "Определяем местоположение…",
    located: "Местоположение получено",
    no_location: "Местоположение не получено",
    errors: "Исправьте ошибки",
    conclusion: "Предварительное заключение",
    status: "Статус",
    policy: "Правила",
    decision: "Решение",
    explanation: "Обоснование",
    send: "Отправить комиссии",
    sign: "Подписать",
    decline: "Отказаться подписать",
    reason: "Причина",
    signatures: "Подписи",
    correct: "Исправить обследование",
    print: "Печать",
    revisions: "Редакции",
    author: "Автор",
    saved: "Сохранено",
    commission: "Комиссия",
    member: "Член комиссии",
    awaiting: "ожидается",
    case: "Дело",
    forbidden: "Доступ запрещён: это дело другой комиссии.",
    read_only: "Доступ запрещён: у вас доступ только для чтения.",
    not_found: "Не найдено.",
    refused: "Действие отклонено",
    statuses: [
        ("draft", "черновик"),
        ("sent", "отправлено комиссии"),
        ("final", "окончательное"),
        ("voided", "аннулировано"),
    ],
    verdicts: [("signed", "подписано"), ("declined", "отказ")],
};

const KK: Words = Words {
    app: "Учаскелік комиссия",
    sign_in: "Кіру",
    sign_out: "Шығу",
    login: "Логин",
    password: "Құпиясөз",
    bad_sign_in: "Логин немесе құпиясөз қате.",
    too_many: "Сәтсіз әрекеттер тым көп. Кейінірек қайталаңыз.",
    home: "Басты бет",
    new_survey: "Жаңа тексеру",
    waiting: "Сіздің қолыңызды күтуде",
    nothing_waits: "Қол қоюды күтетін ештеңе жоқ.",
    conclusions: "Комиссия қорытындылары",
    survey: "Тексеру",
    revision: "редакция",
    save: "Сақтау және қорытынды алу",
    add: "қосу",
    remove: "жою",
    yes: "иә",
    no: "жоқ",
    location: "Тексеру орны",
    locating: "Орналасқан жер анықталуда…",
    located: "Орналасқан жер алынды",
    no_location: "Орналасқан жер алынбады",
    errors: "Қателерді түзетіңіз",
    conclusion: "Алдын ала қорытынды",
    status: "Мәртебесі",
    policy: "Ережелер",
    decision: "Шешім",
    explanation: "Негіздеме",
    send: "Комиссияға жіберу",
    sign: "Қол қою",
    decline: "Қол қоюдан бас тарту",
    reason: "Себебі",
    signatures: "Қолдар",
    correct: "Тексеруді түзету",
    print: "Басып шығару",
    revisions: "Редакциялар",
    author: "Авторы",
    saved: "Сақталды",
    commission: "Комиссия",
    member: "Комиссия мүшесі",
    awaiting: "күтілуде",
    case: "Іс",
    forbidden: "Кіруге тыйым салынған: бұл басқа комиссияның ісі.",
    read_only: "Кіруге тыйым салынған: сізде тек оқуға рұқсат бар.",
    not_found: "Табылмады.",
    refused: "Әрекет қабылданбады",
    statuses: [
        ("draft", "жоба"),
        ("sent", "комиссияға жіберілді"),
        ("final", "түпкілікті"),
        ("voided", "күшін жойды"),
    ],
    verdicts: [("signed", "қол қойылды"), ("declined", "бас тартты")],
};

const EN: Words = Words {
    app: "District commission",
    sign_in: "Sign in",
    sign_out: "Sign out",
    login: "Login",
    password: "Password",
    bad_sign_in: "Wrong login or password.",
    too_many: "Too many failed attempts. Try again later.",
    home: "Home",
    new_survey: "New survey",
    waiting: "Waiting for your signature",
    nothing_waits: "Nothing waits for your signature.",
    conclusions: "The commission's conclusions",
    survey: "Survey",
    revision: "revision",
    save: "Save and get the conclusion",
    add: "add",
    remove: "remove",
    yes: "yes",
    no: "no",
    location: "Where the survey was made",
    locating: "Finding the location…",
    located: "Location attached",
    no_location: "No location",
    errors: "Correct the errors",
    conclusion: "Preliminary conclusion",
    status: "Status",
    policy: "Policy",
    decision: "Decision",
    explanation: "Explanation",
    send: "Send to the commission",
    sign: "Sign",
    decline: "Decline to sign",
    reason: "Reason",
    signatures: "Signatures",
    correct: "Correct the survey",
    print: "Print",
    revisions: "Revisions",
    author: "Author",
    saved: "Saved",
    commission: "Commission",
    member: "Member",
    awaiting: "awaited",
    case: "Case",
    forbidden: "Forbidden: this case belongs to another commission.",
    read_only: "Forbidden: your access is read only.",
    not_found: "Not found.",
    refused: "The action was refused",
    statuses: [
        ("draft", "draft"),
        ("sent", "sent to the commission"),
        ("final", "final"),
        ("voided", "voided"),
    ],
    verdicts: [("signed", "signed"), ("declined", "declined")],
};

impl Lang {
    /// The language of a code (`ru`, `kk`, `en`).
    pub fn parse(code: &str) -> Option<Lang> {
        Some(match code {
            "ru" => Lang::Ru,
            "kk" => Lang::Kk,
            "en" => Lang::En,
            _ => return None,
        })
    }

    /// The language's code.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::Kk => "kk",
            Lang::En => "en",
        }
    }

    /// The pages' words.
    pub fn words(self) -> &'static Words {
        match self {
            Lang::Ru => &RU,
            Lang::Kk => &KK,
            Lang::En => &EN,
        }
    }

    /// The explanation renderer's language.
    pub fn report(self) -> ereje_report::explanation::Lang {
        match self {
            Lang::Ru => ereje_report::explanation::Lang::Ru,
            Lang::Kk => ereje_report::explanation::Lang::Kk,
            Lang::En => ereje_report::explanation::Lang::En,
        }
    }
}

impl Words {
    /// A conclusion status in words.
    pub fn status(&self, status: &str) -> String {
        self.statuses
            .iter()
            .find(|(name, _)| *name == status)
            .map_or_else(|| status.to_string(), |(_, word)| (*word).to_string())
    }

    /// A signature's verdict in words.
    pub fn verdict(&self, verdict: &str) -> String {
        self.verdicts
            .iter()
            .find(|(name, _)| *name == verdict)
            .map_or_else(|| verdict.to_string(), |(_, word)| (*word).to_string())
    }
}

pub use ereje_report::html::escape;

const STYLE: &str = "\
*{box-sizing:border-box}body{font-family:system-ui,sans-serif;margin:0;color:#1b1b1f;background:#f6f6f8;line-height:1.4}\
header{background:#1d3b5a;color:#fff;padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:.6rem;align-items:center}\
header a,header button{color:#fff}header .who{margin-left:auto;font-size:.9rem}\
header form{display:inline}header button{background:none;border:1px solid #fff;border-radius:4px;padding:.2rem .5rem}\
main{max-width:60rem;margin:0 auto;padding:1rem}\
.langs a{margin-right:.4rem}.langs a[aria-current]{font-weight:bold;text-decoration:none}\
fieldset{border:1px solid #c9ccd6;border-radius:6px;margin:.6rem 0;padding:.5rem .8rem;background:#fff}\
fieldset.item{background:#fafbfd}legend{font-weight:600}\
.field{display:flex;flex-wrap:wrap;align-items:center;gap:.2rem .6rem;margin:.35rem 0}\
.field label{flex:0 0 14rem;max-width:100%}.field input,.field select{flex:1 1 12rem;min-width:0;padding:.4rem;font-size:1rem}\
.error{color:#a4161a;font-weight:600;margin:.2rem 0;flex-basis:100%}\
button,.button{font-size:1rem;padding:.5rem .9rem;border-radius:5px;border:1px solid #1d3b5a;background:#fff;color:#1d3b5a;cursor:pointer;text-decoration:none;display:inline-block}\
button.primary,.button.primary{background:#1d3b5a;color:#fff}\
table{border-collapse:collapse;width:100%;background:#fff}td,th{border:1px solid #c9ccd6;padding:.3rem .5rem;text-align:left;vertical-align:top}td{overflow-wrap:break-word}\
.scroll{overflow-x:auto}table.head th{width:30%}code.digest{overflow-wrap:anywhere}.time{white-space:nowrap;color:#4a4d57}\
pre{white-space:pre-wrap;word-break:break-word;background:#fff;border:1px solid #c9ccd6;padding:.6rem;font-size:.88rem}\
.status{display:inline-block;padding:.1rem .5rem;border-radius:4px;background:#e6ecf3}\
.status-final{background:#d8f0dc}.status-voided{background:#f3d9d9}\
textarea{width:100%;min-height:4rem;font-size:1rem}\
@media (max-width:40rem){.field label{flex-basis:100%}main{padding:.5rem}h1{font-size:1.5rem}\
td,th{padding:.25rem .35rem}table{font-size:.92rem}\
table.list tr:first-child{display:none}table.list,table.list tbody,table.list tr,table.list td{display:block;width:100%}\
table.list tr{border:1px solid #c9ccd6;border-radius:6px;margin:0 0 .5rem;padding:.3rem 0}table.list td{border:none;padding:.1rem .6rem}\
table.list td:empty{display:none}table.list td[data-label]::before{content:attr(data-label) \": \";font-weight:600}}\
@media print{header,.noprint{display:none}body{background:#fff}main{max-width:none;padding:0}\
pre{border:none;padding:0;font-size:9pt}.print pre{font-family:sans-serif;font-size:9pt;line-height:1.15;\
white-space:pre-wrap;column-count:2;column-gap:5mm;margin:1mm 0}.print table{font-size:9pt}.print th,.print td{padding:0 1mm}\
.print h1{font-size:12pt;margin:0 0 1mm}.print h2{font-size:10pt;margin:1mm 0}\
.print table.head th{width:1%;white-space:nowrap}\
.print code.digest{display:block;white-space:nowrap;overflow-wrap:normal;font-size:8pt}@page{size:A4;margin:8mm}}";

const SCRIPT: &str = "\
document.addEventListener('click',function(event){\
var target=event.target;\
if(target.classList.contains('add')){var list=target.closest('[data-list]');\
var depth=list.getAttribute('data-depth');var next=parseInt(list.getAttribute('data-next'),10);\
list.setAttribute('data-next',String(next+1));\
var template=list.querySelector(':scope > template');\
var html=template.innerHTML.split('~'+depth+'~').join(String(next));\
list.querySelector(':scope > .items').insertAdjacentHTML('beforeend',html);}\
if(target.classList.contains('remove')){target.closest('.item').remove();}\
if(target.id==='print'){window.print();}\
});\
var geo=document.getElementById('geo');\
if(geo&&navigator.geolocation){var state=document.getElementById('geo-state');\
state.textContent=geo.getAttribute('data-locating');\
navigator.geolocation.getCurrentPosition(function(position){\
document.getElementById('latitude').value=String(position.coords.latitude);\
document.getElementById('longitude').value=String(position.coords.longitude);\
document.getElementById('accuracy').value=String(position.coords.accuracy);\
document.getElementById('located_at').value=new Date(position.timestamp).toISOString();\
state.textContent=geo.getAttribute('data-located')+': '+position.coords.latitude.toFixed(5)+', '+position.coords.longitude.toFixed(5);\
},function(){state.textContent=geo.getAttribute('data-none');},{enableHighAccuracy:true,timeout:10000});}";

/// Who is signed in, for the page header.
pub struct Header<'a> {
    pub name: &'a str,
    pub csrf: &'a str,
    /// Whether they survey (the header links to a new survey): not an analyst or an admin.
    pub surveys: bool,
}

/// A whole page: the header (with the language switch and sign-out), `body`, the style and the
/// script under `nonce`. `path` is the page's own path, for the language links.
pub fn page(
    lang: Lang,
    title: &str,
    path: &str,
    header: Option<&Header<'_>>,
    nonce: &str,
    body: &str,
) -> String {
    let words = lang.words();
    let mut langs = String::new();
    for other in [Lang::Ru, Lang::Kk, Lang::En] {
        let current = if other == lang {
            " aria-current=\"true\""
        } else {
            ""
        };
        langs.push_str(&format!(
            "<a href=\"{}?lang={}\"{current}>{}</a>",
            escape(path),
            other.code(),
            other.code()
        ));
    }
    let who = match header {
        Some(header) => format!(
            "<nav><a href=\"/app\">{}</a>{}</nav>\
             <span class=\"who\">{} <form method=\"post\" action=\"/app/sign-out\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <button type=\"submit\">{}</button></form></span>",
            escape(words.home),
            if header.surveys {
                format!(
                    " · <a href=\"/app/surveys/new\">{}</a>",
                    escape(words.new_survey)
                )
            } else {
                String::new()
            },
            escape(header.name),
            escape(header.csrf),
            escape(words.sign_out)
        ),
        None => String::new(),
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · {}</title><style nonce=\"{nonce}\">{STYLE}</style></head><body>\
         <header><strong>{}</strong>{who}<span class=\"langs\">{langs}</span></header>\
         <main>{body}</main><script nonce=\"{nonce}\">{SCRIPT}</script></body></html>\n",
        lang.code(),
        escape(title),
        escape(words.app),
        escape(words.app),
    )
}
