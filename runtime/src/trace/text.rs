//! The texts of trace nodes: names, sources and labels kept for the process, each with the
//! JSON a trace writes for it.

use super::*;

/// A text of a trace node: a name, a legal source, a band or exception label.
///
/// Its text is the policy's, kept for the rest of the process (`intern.rs`), so that a copy is
/// a copy of a pointer, with no reference count to move. It reads as a `str` (`&*text`,
/// [`TraceText::as_str`]), prints as one, and compares with one.
///
/// A text the engine prepares also holds the JSON that a trace writes for it: the key before
/// it and the text as a JSON string, escaped once when it was made, and for a node's name the
/// node's kind and the key of the value after it (`{"kind":"rule","id":"name","value":`), so
/// that writing a trace copies one piece of text where it would otherwise put together five or
/// six. All of it is one kept text: the JSON head first, then the text itself.
///
/// A `TraceText` is one pointer wide, so that a node, which holds four of them, stays small to
/// make and to copy.
#[derive(Clone, Copy)]
pub struct TraceText(&'static TextData);

/// What a [`TraceText`] points to, kept for the rest of the process.
struct TextData {
    /// The JSON head (`all[..text_start]`) followed by the text (`all[text_start..]`).
    all: Box<str>,
    /// Where the text starts in `all`, after the head.
    text_start: u32,
    /// Where the text as a JSON string starts in the head, after its key.
    quoted_start: u32,
    /// What the head is written for: a text made with [`TraceText::new`] has no head.
    head: Head,
}

/// Every kept [`TextData`], by its text, one per head it was made with.
static TEXTS: std::sync::OnceLock<std::sync::Mutex<HashMap<Box<str>, Vec<&'static TextData>>>> =
    std::sync::OnceLock::new();

/// What the JSON head of a [`TraceText`] holds, before its text as a JSON string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Head {
    /// No head: the text alone.
    Bare,
    /// `{"kind":"…","id":` before, and `,"value":` after: a node's name.
    Name(TraceKind),
    /// `,"source":` before: a legal source.
    Source,
    /// `,"label":` before: a band's label.
    Label,
    /// `,"exception":` before: an exception's label.
    Exception,
}

impl Head {
    /// The JSON written before the text as a JSON string, and after it.
    fn parts(self) -> (&'static str, &'static str) {
        match self {
            Head::Bare => ("", ""),
            Head::Name(kind) => (kind.name_key(), ",\"value\":"),
            Head::Source => (",\"source\":", ""),
            Head::Label => (",\"label\":", ""),
            Head::Exception => (",\"exception\":", ""),
        }
    }
}

impl TraceText {
    /// A text without a JSON head, kept for the rest of the process like every `TraceText`
    /// (once per distinct text): for a policy's names, sources and labels, never for the
    /// unbounded texts of cases.
    pub fn new(text: &str) -> TraceText {
        TraceText::with_head(text, Head::Bare)
    }

    /// A text with its JSON head prepared for `head`, kept once for the process.
    pub(crate) fn with_head(text: &str, head: Head) -> TraceText {
        let mut texts = TEXTS
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(kept) = texts
            .get(text)
            .and_then(|kept| kept.iter().find(|data| data.head == head))
        {
            return TraceText(kept);
        }
        let (before, after) = head.parts();
        let mut all = String::with_capacity(before.len() + after.len() + 2 * text.len() + 2);
        all.push_str(before);
        if head != Head::Bare {
            write_json_string(&mut all, text);
            all.push_str(after);
        }
        // A head longer than the offsets can hold (a text of gigabytes) is left out: the writer
        // then writes the text as it writes a bare one.
        let data = match (u32::try_from(all.len()), u32::try_from(before.len())) {
            (Ok(text_start), Ok(quoted_start)) => {
                all.push_str(text);
                TextData {
                    all: all.into_boxed_str(),
                    text_start,
                    quoted_start,
                    head,
                }
            }
            _ => TextData {
                all: Box::from(text),
                text_start: 0,
                quoted_start: 0,
                head: Head::Bare,
            },
        };
        let kept: &'static TextData = Box::leak(Box::new(data));
        texts.entry(Box::from(text)).or_default().push(kept);
        TraceText(kept)
    }

    pub fn as_str(&self) -> &'static str {
        self.0
            .all
            .get(self.0.text_start as usize..)
            .unwrap_or_default()
    }

    /// The JSON head, when the text has one for `head`.
    pub(super) fn head_for(&self, head: Head) -> Option<&'static str> {
        if self.0.head == head {
            self.0.all.get(..self.0.text_start as usize)
        } else {
            None
        }
    }

    /// The text as a JSON string, when the text has a head that holds it.
    pub(super) fn quoted(&self) -> Option<&'static str> {
        if self.0.head == Head::Bare {
            return None;
        }
        let after = self.0.head.parts().1.len();
        let end = (self.0.text_start as usize).checked_sub(after)?;
        self.0.all.get(self.0.quoted_start as usize..end)
    }
}

impl From<Arc<str>> for TraceText {
    fn from(text: Arc<str>) -> TraceText {
        TraceText::new(&text)
    }
}

impl From<String> for TraceText {
    fn from(text: String) -> TraceText {
        TraceText::new(&text)
    }
}

impl From<&str> for TraceText {
    fn from(text: &str) -> TraceText {
        TraceText::new(text)
    }
}

impl std::ops::Deref for TraceText {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for TraceText {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::borrow::Borrow<str> for TraceText {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Display for TraceText {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl std::fmt::Debug for TraceText {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), formatter)
    }
}

// Equality and hashing are those of the text, as `Borrow<str>` requires.
impl PartialEq for TraceText {
    fn eq(&self, other: &TraceText) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for TraceText {}

impl std::hash::Hash for TraceText {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialEq<str> for TraceText {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for TraceText {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}
