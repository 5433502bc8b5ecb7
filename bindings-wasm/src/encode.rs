//! Values to JavaScript without JSON text: a serde [`Serializer`](ser::Serializer) writes any
//! `Serialize` value as a compact tape of `u32` words plus one string of all its texts, and
//! `decodeValue` (`js/codec.js`) builds from them the same plain objects that `JSON.parse`
//! of the value's `serde_json` text gives (deep-equal: same members, values and types).
//!
//! Nothing here knows the shape of a decision: struct fields, map entries, sequences and
//! enum variants are written as `serde_json` writes them (`None` and unit as `null`, an
//! externally tagged enum as `{"Variant": value}`, integers as numbers, a non-finite float
//! as `null`). What it cannot write exactly — an `f32` (whose JSON text is its shortest
//! `f32` digits), a map key that is not a string or a unit variant, a text of 2^28 UTF-16
//! units or more — makes [`to_js_value`] use the JSON path instead ([`crate::to_js`]).
//!
//! Tape words: the low four bits are the tag, the rest (`word >> 4`) its payload.
//!
//! | tag | value | payload, following words |
//! | --- | --- | --- |
//! | 0, 1, 2 | `null`, `false`, `true` | |
//! | 3 | an integer below 2^28 | the integer |
//! | 4 | any other number | two words: the `f64`'s bits, low word first |
//! | 5 | a string | its length in UTF-16 units; the text is the next one in the strings |
//! | 6 | an atom: a `&'static str` (field name, variant name) the decoder knows | its id |
//! | 7 | a new atom | its id; one word: its UTF-16 length (text from the strings) |
//! | 8 | an array | elements up to an end word |
//! | 9 | an object | (key, value) pairs up to an end word; a key is a string or an atom |
//! | 10 | end of an array or object | |
//!
//! Atoms are the struct field and variant names, `&'static str`s told apart by address: each
//! is sent once per module instance, then named by its id; the decoder keeps their texts in a
//! JavaScript array that this module owns ([`Atoms`]). Objects get their keys as internalized
//! strings and the decoder does no text slicing for them.

use std::cell::RefCell;
use std::fmt;

use serde::ser::{self, Serialize};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(raw_module = "./codec.js")]
extern "C" {
    /// `decodeValue(tape, strings, atoms)` of `js/codec.js`: the value, or `undefined` for a
    /// tape it cannot read (it never throws).
    #[wasm_bindgen(js_name = decodeValue)]
    fn decode_value(tape: &[u32], strings: &str, atoms: &JsValue) -> JsValue;
}

const NULL: u32 = 0;
const FALSE: u32 = 1;
const TRUE: u32 = 2;
const INT: u32 = 3;
const F64: u32 = 4;
const STR: u32 = 5;
const ATOM: u32 = 6;
const ATOM_NEW: u32 = 7;
const ARRAY: u32 = 8;
const OBJECT: u32 = 9;
const END: u32 = 10;
const SHIFT: u32 = 4;
/// Payloads are below this.
const PAYLOAD_LIMIT: u64 = 1 << 28;
/// Buffers kept between calls up to this capacity (a big `checkMany` gives its memory back).
const KEEP_CAPACITY: usize = 1 << 16;

/// Why a value is not written: the caller takes the JSON path.
#[derive(Debug)]
pub(crate) struct Unsupported;

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no compact form")
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Unsupported
    }
}

/// The atoms sent so far: their addresses and lengths (ids are indices), an open-addressing
/// index over them, and the decoder's array of their texts.
struct Atoms {
    entries: Vec<(usize, usize)>,
    /// Slots of `id + 1` (0: empty); a power of two, at most half full.
    index: Vec<u32>,
    js: JsValue,
}

impl Atoms {
    fn new() -> Self {
        Atoms {
            entries: Vec::new(),
            index: vec![0; 256],
            js: js_sys::Array::new().into(),
        }
    }

    fn slot(&self, key: (usize, usize)) -> usize {
        let mask = self.index.len() - 1;
        let hash = (key.0 ^ key.1.rotate_left(16)).wrapping_mul(0x9E37_79B9);
        (hash >> 8) & mask
    }

    /// The id of `text`, or `Err(new id)` after adding it.
    fn id(&mut self, text: &'static str) -> Result<u32, u32> {
        let key = (text.as_ptr() as usize, text.len());
        let mask = self.index.len() - 1;
        let mut at = self.slot(key);
        loop {
            match self.index.get(at).copied() {
                Some(0) | None => break,
                Some(id) => {
                    if self.entries.get(id as usize - 1) == Some(&key) {
                        return Ok(id - 1);
                    }
                }
            }
            at = (at + 1) & mask;
        }
        let id = u32::try_from(self.entries.len()).unwrap_or(u32::MAX);
        self.entries.push(key);
        if let Some(slot) = self.index.get_mut(at) {
            *slot = id + 1;
        }
        if self.entries.len() * 2 > self.index.len() {
            self.rebuild(self.index.len() * 2);
        }
        Err(id)
    }

    fn rebuild(&mut self, size: usize) {
        self.index = vec![0; size];
        let mask = size - 1;
        for (id, key) in self.entries.iter().enumerate() {
            let mut at = self.slot(*key);
            while self.index.get(at).is_some_and(|s| *s != 0) {
                at = (at + 1) & mask;
            }
            if let Some(slot) = self.index.get_mut(at) {
                *slot = u32::try_from(id + 1).unwrap_or(u32::MAX);
            }
        }
    }
}

/// The tape, the strings and the atoms, kept between calls.
pub(crate) struct Encoder {
    tape: Vec<u32>,
    strings: String,
    atoms: Atoms,
}

thread_local! {
    static ENCODER: RefCell<Option<Encoder>> = const { RefCell::new(None) };
}

/// The UTF-16 length of `text` as a payload.
fn units(text: &str) -> Result<u32, Unsupported> {
    let units = if text.is_ascii() {
        text.len()
    } else {
        text.encode_utf16().count()
    };
    u32::try_from(units)
        .ok()
        .filter(|u| u64::from(*u) < PAYLOAD_LIMIT)
        .ok_or(Unsupported)
}

impl Encoder {
    fn word(&mut self, tag: u32, payload: u32) {
        self.tape.push(tag | payload << SHIFT);
    }

    #[inline(never)]
    fn string(&mut self, text: &str) -> Result<(), Unsupported> {
        let units = units(text)?;
        self.word(STR, units);
        self.strings.push_str(text);
        Ok(())
    }

    #[inline(never)]
    fn atom(&mut self, text: &'static str) -> Result<(), Unsupported> {
        match self.atoms.id(text) {
            Ok(id) => self.word(ATOM, id),
            Err(id) => {
                let units = units(text)?;
                self.word(ATOM_NEW, id);
                self.tape.push(units);
                self.strings.push_str(text);
            }
        }
        Ok(())
    }

    #[inline(never)]
    fn unsigned(&mut self, value: u64) {
        match u32::try_from(value) {
            Ok(small) if value < PAYLOAD_LIMIT => self.word(INT, small),
            // The nearest double, as JSON.parse reads the integer's digits.
            _ => self.float(value as f64),
        }
    }

    fn signed(&mut self, value: i64) {
        match u64::try_from(value) {
            Ok(value) => self.unsigned(value),
            Err(_) => self.float(value as f64),
        }
    }

    #[inline(never)]
    fn float(&mut self, value: f64) {
        if value.is_finite() {
            let bits = value.to_bits();
            self.tape.push(F64);
            self.tape.push(bits as u32);
            self.tape.push((bits >> 32) as u32);
        } else {
            // serde_json writes NaN and the infinities as null.
            self.tape.push(NULL);
        }
    }
}

/// `value` as a plain JavaScript value, deep-equal to `JSON.parse` of its `serde_json`
/// text: through the compact encoding when it can write the value, else through JSON.
pub(crate) fn to_js_value<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    let fast = ENCODER.with_borrow_mut(|slot| {
        let encoder = slot.get_or_insert_with(|| Encoder {
            tape: Vec::new(),
            strings: String::new(),
            atoms: Atoms::new(),
        });
        encoder.tape.clear();
        encoder.strings.clear();
        let decoded = match value.serialize(&mut *encoder) {
            Ok(()) => Some(decode_value(
                &encoder.tape,
                &encoder.strings,
                &encoder.atoms.js,
            ))
            .filter(|value| !value.is_undefined()),
            Err(Unsupported) => None,
        };
        if decoded.is_none() {
            // Atoms added by this call may not have reached the decoder: start over.
            encoder.atoms = Atoms::new();
        }
        encoder.tape.shrink_to(KEEP_CAPACITY);
        encoder.strings.shrink_to(KEEP_CAPACITY);
        decoded
    });
    match fast {
        Some(value) => Ok(value),
        None => crate::to_js(value),
    }
}

impl ser::Serializer for &mut Encoder {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    fn serialize_bool(self, v: bool) -> Result<(), Unsupported> {
        self.tape.push(if v { TRUE } else { FALSE });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Unsupported> {
        self.signed(v.into());
        Ok(())
    }
    fn serialize_i16(self, v: i16) -> Result<(), Unsupported> {
        self.signed(v.into());
        Ok(())
    }
    fn serialize_i32(self, v: i32) -> Result<(), Unsupported> {
        self.signed(v.into());
        Ok(())
    }
    fn serialize_i64(self, v: i64) -> Result<(), Unsupported> {
        self.signed(v);
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Result<(), Unsupported> {
        match i64::try_from(v) {
            Ok(v) => self.signed(v),
            Err(_) => self.float(v as f64),
        }
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result<(), Unsupported> {
        self.unsigned(v.into());
        Ok(())
    }
    fn serialize_u16(self, v: u16) -> Result<(), Unsupported> {
        self.unsigned(v.into());
        Ok(())
    }
    fn serialize_u32(self, v: u32) -> Result<(), Unsupported> {
        self.unsigned(v.into());
        Ok(())
    }
    fn serialize_u64(self, v: u64) -> Result<(), Unsupported> {
        self.unsigned(v);
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Result<(), Unsupported> {
        match u64::try_from(v) {
            Ok(v) => self.unsigned(v),
            Err(_) => self.float(v as f64),
        }
        Ok(())
    }
    fn serialize_f32(self, _: f32) -> Result<(), Unsupported> {
        // JSON has its shortest f32 digits, which JSON.parse reads as another double.
        Err(Unsupported)
    }
    fn serialize_f64(self, v: f64) -> Result<(), Unsupported> {
        self.float(v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Unsupported> {
        self.string(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), Unsupported> {
        self.string(v)
    }
    /// Written straight into the string buffer: the core's lazily worded fields (a hop's
    /// outcome) make no `String` of their own.
    fn collect_str<T: fmt::Display + ?Sized>(self, value: &T) -> Result<(), Unsupported> {
        let start = self.strings.len();
        fmt::Write::write_fmt(&mut self.strings, format_args!("{value}"))
            .map_err(|_| Unsupported)?;
        let units = self.strings.get(start..).map_or(Err(Unsupported), units)?;
        self.word(STR, units);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Unsupported> {
        self.tape.push(ARRAY);
        for byte in v {
            self.unsigned(u64::from(*byte));
        }
        self.tape.push(END);
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Unsupported> {
        self.tape.push(NULL);
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Unsupported> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Unsupported> {
        self.tape.push(NULL);
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Unsupported> {
        self.tape.push(NULL);
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Unsupported> {
        self.atom(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        self.tape.push(OBJECT);
        self.atom(variant)?;
        value.serialize(&mut *self)?;
        self.tape.push(END);
        Ok(())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self, Unsupported> {
        self.tape.push(ARRAY);
        Ok(self)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self, Unsupported> {
        self.tape.push(ARRAY);
        Ok(self)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self, Unsupported> {
        self.tape.push(ARRAY);
        Ok(self)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self, Unsupported> {
        self.tape.push(OBJECT);
        self.atom(variant)?;
        self.tape.push(ARRAY);
        Ok(self)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self, Unsupported> {
        self.tape.push(OBJECT);
        Ok(self)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Unsupported> {
        self.tape.push(OBJECT);
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self, Unsupported> {
        self.tape.push(OBJECT);
        self.atom(variant)?;
        self.tape.push(OBJECT);
        Ok(self)
    }
}

/// Elements of a sequence or tuple: values up to an end word.
impl ser::SerializeSeq for &mut Encoder {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.tape.push(END);
        Ok(())
    }
}

impl ser::SerializeTuple for &mut Encoder {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.tape.push(END);
        Ok(())
    }
}

impl ser::SerializeTupleStruct for &mut Encoder {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.tape.push(END);
        Ok(())
    }
}

/// `{"Variant": [fields]}`: two end words.
impl ser::SerializeTupleVariant for &mut Encoder {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.tape.push(END);
        self.tape.push(END);
        Ok(())
    }
}

impl ser::SerializeMap for &mut Encoder {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Unsupported> {
        key.serialize(KeySerializer(self))
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.tape.push(END);
        Ok(())
    }
}

impl ser::SerializeStruct for &mut Encoder {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        self.atom(key)?;
        value.serialize(&mut **self)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.tape.push(END);
        Ok(())
    }
}

/// `{"Variant": {fields}}`: two end words.
impl ser::SerializeStructVariant for &mut Encoder {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        self.atom(key)?;
        value.serialize(&mut **self)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.tape.push(END);
        self.tape.push(END);
        Ok(())
    }
}

/// A map key: a string (a unit variant's name, a newtype's string); anything else, which
/// serde_json would turn into a string its own way, is [`Unsupported`].
struct KeySerializer<'e>(&'e mut Encoder);

impl ser::Serializer for KeySerializer<'_> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = ser::Impossible<(), Unsupported>;
    type SerializeTuple = ser::Impossible<(), Unsupported>;
    type SerializeTupleStruct = ser::Impossible<(), Unsupported>;
    type SerializeTupleVariant = ser::Impossible<(), Unsupported>;
    type SerializeMap = ser::Impossible<(), Unsupported>;
    type SerializeStruct = ser::Impossible<(), Unsupported>;
    type SerializeStructVariant = ser::Impossible<(), Unsupported>;

    fn serialize_str(self, v: &str) -> Result<(), Unsupported> {
        self.0.string(v)
    }
    fn serialize_char(self, v: char) -> Result<(), Unsupported> {
        self.0.string(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Unsupported> {
        self.0.atom(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        value.serialize(self)
    }
    fn serialize_bool(self, _: bool) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_i8(self, _: i8) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_i16(self, _: i16) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_i32(self, _: i32) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_i64(self, _: i64) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_u8(self, _: u8) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_u16(self, _: u16) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_u32(self, _: u32) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_u64(self, _: u64) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_f32(self, _: f32) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_f64(self, _: f64) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_none(self) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_unit(self) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Unsupported> {
        Err(Unsupported)
    }
}
