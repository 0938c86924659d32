//! Composing key attribute values from templates, and the typed keys the derive
//! generates (`User::key(..)`, `User::partition(..)`).

use crate::error::{Error, ErrorKind, KeyProblem};
use crate::template::{Pad, Part, Template};
use crate::Item;
use std::marker::PhantomData;

/// A type whose values can be variables of a key template: strings, integers, booleans,
/// chars, dates, ids and unit enums deriving [`Value`](crate::Value).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used in a key template",
    label = "this field is a variable of a key template",
    note = "key template variables must be strings, integers, bool, char, dates, ids or unit enums deriving `onetable::Value`"
)]
pub trait KeyValue {
    /// Appends the value's key text to `out`; returns false, writing nothing, when the
    /// value is absent (`None`), which leaves a sparse index's key out.
    fn write_key(&self, out: &mut String) -> bool;
}

impl KeyValue for str {
    #[inline]
    fn write_key(&self, out: &mut String) -> bool {
        out.push_str(self);
        true
    }
}

impl KeyValue for String {
    #[inline]
    fn write_key(&self, out: &mut String) -> bool {
        out.push_str(self);
        true
    }
}

impl<T: KeyValue + ?Sized> KeyValue for &T {
    #[inline]
    fn write_key(&self, out: &mut String) -> bool {
        (**self).write_key(out)
    }
}

impl<T: KeyValue> KeyValue for Option<T> {
    #[inline]
    fn write_key(&self, out: &mut String) -> bool {
        self.as_ref().is_some_and(|v| v.write_key(out))
    }
}

impl KeyValue for bool {
    #[inline]
    fn write_key(&self, out: &mut String) -> bool {
        out.push_str(if *self { "true" } else { "false" });
        true
    }
}

impl KeyValue for char {
    #[inline]
    fn write_key(&self, out: &mut String) -> bool {
        out.push(*self);
        true
    }
}

macro_rules! integer_key {
    ($($t:ty),*) => {$(
        impl KeyValue for $t {
            #[inline]
            fn write_key(&self, out: &mut String) -> bool {
                out.push_str(itoa::Buffer::new().format(*self));
                true
            }
        }
    )*};
}
integer_key!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);

/// A type a key template may pad (`${seq:10:0}`): unsigned integers, whose padded text
/// sorts as the numbers do and reads back exactly. A string starting with the padding
/// character, or a negative number, would not.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be padded in a key template",
    label = "this field is a padded variable of a key template",
    note = "padding (`${{name:width:pad}}`) is for unsigned integers: their padded text sorts as the numbers do and reads back; strings and negative numbers would not"
)]
pub trait Paddable {}

macro_rules! paddable {
    ($($t:ty),*) => {$( impl Paddable for $t {} )*};
}
paddable!(u8, u16, u32, u64, u128, usize);
impl<T: Paddable> Paddable for Option<T> {}
impl<T: Paddable + ?Sized> Paddable for &T {}

/// The text a stored value has inside a key, the same as [`KeyValue`] writes: strings
/// as they are, numbers as digits, booleans as `true`/`false`, and dates as ISO-8601.
/// `onetable_type` is the field's [`Value::ONETABLE_TYPE`](crate::Value::ONETABLE_TYPE),
/// so an alias or a newtype of a date or a number is read as what it stores. `None`
/// for other attributes.
pub fn key_text(value: &crate::AttributeValue, onetable_type: &str) -> Option<String> {
    use crate::AttributeValue as A;
    match value {
        A::N(_) | A::S(_) if onetable_type == "date" => crate::value::time_key_text(value.clone()),
        A::S(s) | A::N(s) => Some(s.clone()),
        A::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The stored attribute of a field whose key text is `text`: the inverse of
/// [`key_text`], typed by the field's stored type (`number` as `N`, `boolean` as
/// `BOOL`, `date` as the format writes dates, everything else as `S`).
pub fn attr_from_key_text(text: &str, onetable_type: &str, format: &crate::Format) -> crate::AttributeValue {
    use crate::AttributeValue as A;
    match onetable_type {
        "number" => A::N(text.to_owned()),
        "boolean" => A::Bool(text == "true"),
        "date" => match crate::value::millis_of_text(text) {
            Ok(ms) => crate::value::date_attr(ms, format),
            Err(_) => A::S(text.to_owned()),
        },
        _ => A::S(text.to_owned()),
    }
}

/// The key text of any stored value, as [`KeyValue`] writes it: what a newtype
/// deriving `Value` writes into a key, through the value it wraps.
#[doc(hidden)]
pub fn write_key_via_value<T: crate::Value>(value: &T, out: &mut String) -> bool {
    let iso = crate::Format::ONETABLE.with_iso_dates(true);
    match value.to_attr(&iso).ok().flatten().and_then(|attr| key_text(&attr, T::ONETABLE_TYPE)) {
        Some(text) => {
            out.push_str(&text);
            true
        }
        None => false,
    }
}

/// A value given for a key variable of type `T`: the type itself, a reference to it,
/// or `&str` for a `String` field.
pub trait AsKeyPart<T: ?Sized> {
    /// Appends the key text; false when absent.
    fn write_part(&self, out: &mut String) -> bool;
}

impl<T: KeyValue> AsKeyPart<T> for T {
    #[inline]
    fn write_part(&self, out: &mut String) -> bool {
        self.write_key(out)
    }
}

impl<T: KeyValue> AsKeyPart<T> for &T {
    #[inline]
    fn write_part(&self, out: &mut String) -> bool {
        self.write_key(out)
    }
}

impl AsKeyPart<String> for &str {
    #[inline]
    fn write_part(&self, out: &mut String) -> bool {
        out.push_str(self);
        true
    }
}

impl<T: KeyValue> AsKeyPart<Option<T>> for T {
    #[inline]
    fn write_part(&self, out: &mut String) -> bool {
        self.write_key(out)
    }
}

impl AsKeyPart<Option<String>> for &str {
    #[inline]
    fn write_part(&self, out: &mut String) -> bool {
        out.push_str(self);
        true
    }
}

/// Builds one key attribute value from a template, checking every value it places.
/// The derive's generated code drives it; it is public for hand-written entities.
pub struct KeyBuf {
    out: String,
    template: &'static Template,
    entity: &'static str,
}

impl KeyBuf {
    /// Starts a key for `template` of `entity`.
    #[inline]
    pub fn new(entity: &'static str, template: &'static Template) -> KeyBuf {
        KeyBuf { out: String::with_capacity(template.source.len() + 24), template, entity }
    }

    /// Appends literal text.
    #[inline]
    pub fn text(&mut self, text: &str) {
        self.out.push_str(text);
    }

    /// Appends the value of variable `field` from the entity itself. `Ok(false)` when
    /// the value is absent.
    #[inline]
    pub fn var<V: KeyValue + ?Sized>(&mut self, field: &'static str, value: &V) -> Result<bool, Error> {
        let start = self.out.len();
        let present = value.write_key(&mut self.out);
        self.check(field, start, present)
    }

    /// Appends the value of variable `field` given as an argument for a `T` field.
    #[inline]
    pub fn arg<T: ?Sized, A: AsKeyPart<T> + ?Sized>(
        &mut self,
        field: &'static str,
        value: &A,
    ) -> Result<bool, Error> {
        let start = self.out.len();
        let present = value.write_part(&mut self.out);
        self.check(field, start, present)
    }

    /// [`KeyBuf::var`] for a padded variable (`${field:width:pad}`). The derive
    /// asserts that the field's type is [`Paddable`]; hand-written code should too.
    #[inline]
    pub fn var_padded<V: KeyValue + ?Sized>(
        &mut self,
        field: &'static str,
        value: &V,
        pad: Pad,
    ) -> Result<bool, Error> {
        let start = self.out.len();
        let present = value.write_key(&mut self.out);
        self.check(field, start, present).inspect(|&present| {
            if present {
                pad.apply(&mut self.out, start)
            }
        })
    }

    /// [`KeyBuf::arg`] for a padded variable (`${field:width:pad}`).
    #[inline]
    pub fn arg_padded<T: ?Sized, A: AsKeyPart<T> + ?Sized>(
        &mut self,
        field: &'static str,
        value: &A,
        pad: Pad,
    ) -> Result<bool, Error> {
        let start = self.out.len();
        let present = value.write_part(&mut self.out);
        self.check(field, start, present).inspect(|&present| {
            if present {
                pad.apply(&mut self.out, start)
            }
        })
    }

    /// Turns an absent value into the error a required key variable reports.
    #[inline]
    pub fn required(&self, field: &'static str, present: bool) -> Result<(), Error> {
        if present {
            return Ok(());
        }
        Err(self.invalid(field, String::new(), KeyProblem::Absent))
    }

    #[inline]
    fn check(&mut self, field: &'static str, start: usize, present: bool) -> Result<bool, Error> {
        if !present {
            return Ok(false);
        }
        let written = &self.out[start..];
        let problem = if written.is_empty() {
            KeyProblem::Empty
        } else {
            match find_delimiter(written, self.template.delimiters) {
                Some(c) => KeyProblem::ContainsDelimiter(c),
                None => return Ok(true),
            }
        };
        Err(self.invalid(field, written.to_owned(), problem))
    }

    fn invalid(&self, field: &'static str, value: String, problem: KeyProblem) -> Error {
        ErrorKind::InvalidKey { entity: self.entity, field, value, template: self.template.source, problem }
            .into()
    }

    /// The key text.
    #[inline]
    pub fn finish(self) -> String {
        self.out
    }
}

/// A variable's value offered to [`Template::render`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input<'a> {
    /// The value's key text (checked as it is placed).
    Text(std::borrow::Cow<'a, str>),
    /// The value is absent (`None`, or removed): the key cannot exist.
    Absent,
    /// The value is not known here: the key renders up to this variable.
    Unknown,
}

/// What [`Template::render`] made of a template and its inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rendered {
    /// Every variable had a value: the whole key.
    Key(String),
    /// This variable's value is absent, so there is no key (a sparse index).
    Absent(&'static str),
    /// The key up to the first variable whose value is not known.
    Partial {
        /// The key text before that variable.
        prefix: String,
        /// The variable.
        missing: &'static str,
    },
}

impl Template {
    /// Fills a value template (a computed field's, not a key's) from `input`: the
    /// values are placed as they are, with no key rule to check (no delimiters, and
    /// empty text is a value like any other).
    pub fn fill<'a>(&'static self, mut input: impl FnMut(&'static str) -> Input<'a>) -> Rendered {
        let mut out = String::with_capacity(self.source.len() + 16);
        for part in self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Var(name) | Part::Padded(name, _) => match input(name) {
                    Input::Text(value) => {
                        let start = out.len();
                        out.push_str(&value);
                        if let Part::Padded(_, pad) = part {
                            pad.apply(&mut out, start);
                        }
                    }
                    Input::Absent => return Rendered::Absent(name),
                    Input::Unknown => return Rendered::Partial { prefix: out, missing: name },
                },
            }
        }
        Rendered::Key(out)
    }

    /// Renders the template, asking `input` for each variable's value in order. Every
    /// value is checked as [`KeyBuf`] checks it (not empty, no delimiter), so a key
    /// rendered here is one the generated code would have composed. The generated
    /// code drives [`KeyBuf`] directly, with each step known at compile time; this is
    /// the same renderer for run-time inputs: partial keys of queries and index keys
    /// recomputed by updates.
    pub fn render<'a>(
        &'static self,
        entity: &'static str,
        mut input: impl FnMut(&'static str) -> Input<'a>,
    ) -> Result<Rendered, Error> {
        let mut key = KeyBuf::new(entity, self);
        for part in self.parts {
            match part {
                Part::Text(t) => key.text(t),
                Part::Var(name) | Part::Padded(name, _) => match input(name) {
                    Input::Text(value) => {
                        let start = key.out.len();
                        key.var::<str>(name, &value)?;
                        if let Part::Padded(_, pad) = part {
                            pad.apply(&mut key.out, start);
                        }
                    }
                    Input::Absent => return Ok(Rendered::Absent(name)),
                    Input::Unknown => return Ok(Rendered::Partial { prefix: key.finish(), missing: name }),
                },
            }
        }
        Ok(Rendered::Key(key.finish()))
    }
}

/// The first delimiter in `value`. Every key value of every write passes through here,
/// so the usual case, ASCII delimiters, is a byte scan rather than a char search.
#[inline]
fn find_delimiter(value: &str, delimiters: &str) -> Option<char> {
    if delimiters.is_ascii() {
        let delimiters = delimiters.as_bytes();
        value.bytes().find(|b| delimiters.contains(b)).map(char::from)
    } else {
        value.chars().find(|c| delimiters.contains(*c))
    }
}

/// The full primary key of one item of `E`, for get, update and remove.
///
/// Built by the derive's `E::key(..)`; a value that cannot go into the key is kept as
/// the error and reported by the operation that uses the key.
pub struct Key<E> {
    attrs: Result<Item, Error>,
    entity: PhantomData<fn() -> E>,
}

impl<E> Key<E> {
    /// Wraps composed key attributes (or the error composing them).
    #[inline]
    pub fn new(attrs: Result<Item, Error>) -> Key<E> {
        Key { attrs, entity: PhantomData }
    }

    /// The key attributes, such as `{pk: "ACCOUNT#a", sk: "USER#b"}`.
    pub fn into_attrs(self) -> Result<Item, Error> {
        self.attrs
    }

    /// The key attributes by reference.
    pub fn attrs(&self) -> Result<&Item, &Error> {
        self.attrs.as_ref()
    }
}

impl<E> std::fmt::Debug for Key<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Key").field(&self.attrs).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static PAIR: Template = Template {
        source: "ORG#${org}#USER#${id}",
        parts: &[Part::Text("ORG#"), Part::Var("org"), Part::Text("#USER#"), Part::Var("id")],
        delimiters: "#",
    };

    fn input<'a>(org: Input<'a>, id: Input<'a>) -> impl FnMut(&'static str) -> Input<'a> {
        move |name| if name == "org" { org.clone() } else { id.clone() }
    }

    #[test]
    fn renders_whole_partial_and_absent_keys() {
        let text = |v: &'static str| Input::Text(v.into());
        assert_eq!(
            PAIR.render("User", input(text("acme"), text("ann"))).unwrap(),
            Rendered::Key("ORG#acme#USER#ann".into())
        );
        assert_eq!(
            PAIR.render("User", input(text("acme"), Input::Unknown)).unwrap(),
            Rendered::Partial { prefix: "ORG#acme#USER#".into(), missing: "id" }
        );
        assert_eq!(PAIR.render("User", input(text("acme"), Input::Absent)).unwrap(), Rendered::Absent("id"));
    }

    #[test]
    fn rendering_pads_padded_variables() {
        static SEQ: Template = Template {
            source: "SEQ#${seq:6:0}",
            parts: &[Part::Text("SEQ#"), Part::Padded("seq", Pad { width: 6, with: '0' })],
            delimiters: "#",
        };
        assert_eq!(
            SEQ.render("Log", |_| Input::Text("42".into())).unwrap(),
            Rendered::Key("SEQ#000042".into())
        );
        let mut k = KeyBuf::new("Log", &SEQ);
        k.text("SEQ#");
        assert!(k.arg_padded::<u64, _>("seq", &7u64, Pad { width: 6, with: '0' }).unwrap());
        assert_eq!(k.finish(), "SEQ#000007");
    }

    #[test]
    fn rendering_checks_every_value_as_the_generated_code_does() {
        let err = PAIR.render("User", input(Input::Text("a#b".into()), Input::Unknown)).unwrap_err();
        match err.kind() {
            ErrorKind::InvalidKey { entity, field, value, problem, .. } => {
                assert_eq!((*entity, *field, value.as_str()), ("User", "org", "a#b"));
                assert_eq!(*problem, KeyProblem::ContainsDelimiter('#'));
            }
            other => panic!("{other:?}"),
        }
        let err = PAIR.render("User", input(Input::Text("acme".into()), Input::Text("".into()))).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::InvalidKey { field: "id", problem: KeyProblem::Empty, .. }));
    }
}
