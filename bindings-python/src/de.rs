//! A serde [`Deserializer`] over Python objects, so the core's own `Deserialize` impls
//! (with `deny_unknown_fields`, untagged header values, `u16` ports, …) decide what a
//! well-shaped request is. No JSON text is produced on the way: dicts, lists, strings,
//! numbers, booleans and `None` are read in place.
//!
//! Errors carry the path of the offending value (`source.labels.app`, `headers.x[1]`) and
//! are raised as `TypeError` for a value of the wrong Python type and `ValueError` for
//! everything else (unknown or duplicate keys, out-of-range numbers, unknown enum names).

use std::fmt;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::dict::BoundDictIterator;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde::de::{
    self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};

/// Which Python exception a [`DeError`] becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A value of the wrong Python type: `TypeError`.
    Type,
    /// Anything else: `ValueError`.
    Value,
}

/// One step of the path to the offending value.
#[derive(Debug, Clone)]
enum Segment {
    /// A dict key.
    Key(String),
    /// A list index.
    Index(usize),
}

/// A shape error in a Python value, with the path to it.
#[derive(Debug)]
pub struct DeError {
    kind: Kind,
    message: String,
    /// Innermost segment first.
    path: Vec<Segment>,
}

impl DeError {
    /// A `TypeError`-kind error.
    pub fn type_error(message: impl Into<String>) -> Self {
        DeError {
            kind: Kind::Type,
            message: message.into(),
            path: Vec::new(),
        }
    }

    /// A `ValueError`-kind error.
    pub fn value_error(message: impl Into<String>) -> Self {
        DeError {
            kind: Kind::Value,
            message: message.into(),
            path: Vec::new(),
        }
    }

    fn at_key(mut self, key: &Bound<'_, PyAny>) -> Self {
        let text = match key.cast::<PyString>() {
            Ok(s) => s.to_string_lossy().into_owned(),
            Err(_) => key
                .repr()
                .map(|r| r.to_string_lossy().into_owned())
                .unwrap_or_else(|_| "?".to_string()),
        };
        self.path.push(Segment::Key(text));
        self
    }

    fn at_index(mut self, index: usize) -> Self {
        self.path.push(Segment::Index(index));
        self
    }

    /// Adds an outer path segment naming the whole value (`request`, `requests[3]`).
    pub fn within(mut self, root: &str, index: Option<usize>) -> Self {
        if let Some(index) = index {
            self.path.push(Segment::Index(index));
        }
        self.path.push(Segment::Key(root.to_string()));
        self
    }

    /// The Python exception.
    pub fn into_pyerr(self) -> PyErr {
        let message = self.to_string();
        match self.kind {
            Kind::Type => PyTypeError::new_err(message),
            Kind::Value => PyValueError::new_err(message),
        }
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.path.is_empty() {
            for (n, segment) in self.path.iter().rev().enumerate() {
                match segment {
                    Segment::Key(key) if n == 0 => f.write_str(key)?,
                    Segment::Key(key) => write!(f, ".{key}")?,
                    Segment::Index(index) => write!(f, "[{index}]")?,
                }
            }
            f.write_str(": ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        let message = msg.to_string();
        // serde's untagged enums say only that no variant matched; the one in the request
        // is a header value.
        if message == "data did not match any variant of untagged enum HeaderValue" {
            return DeError::type_error("invalid type: expected a string or a list of strings");
        }
        DeError::value_error(message)
    }

    fn invalid_type(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        DeError::type_error(format!("invalid type: {unexp}, expected {exp}"))
    }
}

impl From<PyErr> for DeError {
    fn from(error: PyErr) -> Self {
        DeError::value_error(error.to_string())
    }
}

/// Deserializes `obj` into `T` through `T`'s serde impl.
pub fn from_py<'py, T: de::DeserializeOwned>(obj: &Bound<'py, PyAny>) -> Result<T, DeError> {
    T::deserialize(PyDe { obj })
}

/// The Python type name of `obj`, for messages.
pub fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "object".to_string())
}

/// Whether `obj` looks like a mapping (has `keys` and `__getitem__`), the test `dict.update`
/// uses.
fn is_mapping(obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    Ok(obj.hasattr("keys")? && obj.hasattr("__getitem__")?)
}

/// A deserializer reading one Python object.
#[derive(Clone, Copy)]
pub struct PyDe<'a, 'py> {
    /// The object.
    pub obj: &'a Bound<'py, PyAny>,
}

impl<'de> Deserializer<'de> for PyDe<'_, '_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let obj = self.obj;
        if let Ok(s) = obj.cast::<PyString>() {
            return visitor.visit_str(s.to_str()?);
        }
        if obj.is_none() {
            return visitor.visit_unit();
        }
        if let Ok(b) = obj.cast_exact::<PyBool>() {
            return visitor.visit_bool(b.is_true());
        }
        if let Ok(dict) = obj.cast::<PyDict>() {
            return visitor.visit_map(DictAccess::new(dict));
        }
        if obj.cast::<PyInt>().is_ok() {
            if let Ok(n) = obj.extract::<i64>() {
                return visitor.visit_i64(n);
            }
            if let Ok(n) = obj.extract::<u64>() {
                return visitor.visit_u64(n);
            }
            return Err(DeError::value_error(format!(
                "integer {} is out of range",
                obj.repr()?.to_string_lossy()
            )));
        }
        if let Ok(f) = obj.cast::<PyFloat>() {
            return visitor.visit_f64(f.value());
        }
        if let Ok(list) = obj.cast::<PyList>() {
            return visitor.visit_seq(ListAccess {
                items: list.iter().collect(),
                next: 0,
            });
        }
        if let Ok(tuple) = obj.cast::<PyTuple>() {
            return visitor.visit_seq(ListAccess {
                items: tuple.iter().collect(),
                next: 0,
            });
        }
        // Other mappings (MappingProxyType, user Mapping classes); dict subclasses are dicts.
        if is_mapping(obj)? {
            let dict = PyDict::new(obj.py());
            dict.call_method1("update", (obj,))?;
            return visitor.visit_map(DictAccess::new(&dict));
        }
        Err(DeError::type_error(format!(
            "invalid type: {}, expected a JSON value (dict, list, str, int, float, bool or None)",
            type_name(obj)
        )))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.obj.is_none() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.obj.cast::<PyString>() {
            Ok(s) => {
                let text: &str = s.to_str()?;
                visitor.visit_enum(IntoDeserializer::<DeError>::into_deserializer(text))
            }
            Err(_) => Err(DeError::type_error(format!(
                "invalid type: {}, expected a string",
                type_name(self.obj)
            ))),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        identifier ignored_any
    }
}

/// A `(key, value)` pair of a dict.
type Item<'py> = (Bound<'py, PyAny>, Bound<'py, PyAny>);

/// Reads a dict's items in order (lazily), remembering the key for error paths.
struct DictAccess<'py, I: Iterator<Item = Item<'py>>> {
    items: I,
    /// The pair whose key was just read.
    current: Option<Item<'py>>,
}

impl<'py> DictAccess<'py, BoundDictIterator<'py>> {
    fn new(dict: &Bound<'py, PyDict>) -> Self {
        DictAccess {
            items: dict.iter(),
            current: None,
        }
    }
}

impl<'de, 'py, I: Iterator<Item = Item<'py>>> MapAccess<'de> for DictAccess<'py, I> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some(item) = self.items.next() else {
            return Ok(None);
        };
        let key = &self.current.insert(item).0;
        if key.cast::<PyString>().is_err() {
            return Err(DeError::type_error(format!(
                "keys must be strings, not {}",
                type_name(key)
            ))
            .at_key(key));
        }
        seed.deserialize(PyDe { obj: key }).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let Some((key, value)) = self.current.take() else {
            return Err(DeError::value_error("a value was read before its key"));
        };
        seed.deserialize(PyDe { obj: &value })
            .map_err(|e| e.at_key(&key))
    }

    fn size_hint(&self) -> Option<usize> {
        self.items.size_hint().1
    }
}

/// Reads a list's or tuple's items in order.
struct ListAccess<'py> {
    items: Vec<Bound<'py, PyAny>>,
    next: usize,
}

impl<'de> SeqAccess<'de> for ListAccess<'_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let index = self.next;
        let Some(item) = self.items.get(index) else {
            return Ok(None);
        };
        self.next += 1;
        seed.deserialize(PyDe { obj: item })
            .map(Some)
            .map_err(|e| e.at_index(index))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len().saturating_sub(self.next))
    }
}

/// The request fields `check`, `check_on` and `explain` take as keyword arguments, in
/// the request JSON's order; `None` (not given, or given as `None`) is absent.
///
/// Named parameters rather than `**kwargs`: Python's fast calling convention (no
/// argument tuple and dict built per call) and a signature that says what a request is.
#[derive(Clone, Copy, Default)]
pub struct Keywords<'a, 'py> {
    /// The values, by [`Keywords::NAMES`].
    pub values: [Option<&'a Bound<'py, PyAny>>; 13],
}

impl<'a, 'py> Keywords<'a, 'py> {
    /// The fields, in the order of `values`.
    pub const NAMES: [&'static str; 13] = [
        "source",
        "workload",
        "protocol",
        "url",
        "host",
        "port",
        "method",
        "path",
        "headers",
        "sni",
        "jwt",
        "custom",
        "destination_ip",
    ];

    /// Only the sender's fields (`Connection(source=..., workload=...)`).
    pub fn sender(
        source: Option<&'a Bound<'py, PyAny>>,
        workload: Option<&'a Bound<'py, PyAny>>,
    ) -> Self {
        let mut keywords = Self::default();
        // NAMES[0] and NAMES[1].
        keywords.values[0] = source;
        keywords.values[1] = workload;
        keywords
    }

    /// Whether no field was given.
    pub fn is_empty(&self) -> bool {
        self.values.iter().all(Option::is_none)
    }

    /// The given fields, in [`Keywords::NAMES`] order, `None` values left out.
    pub fn given(&self) -> impl Iterator<Item = (&'static str, &'a Bound<'py, PyAny>)> + '_ {
        Self::NAMES
            .iter()
            .zip(self.values)
            .filter_map(|(name, value)| Some((*name, value.filter(|v| !v.is_none())?)))
    }
}

/// The request of `check(request, **keywords)`: the dict's items, then the keywords.
///
/// A string `source` keyword means `source={"principal": ...}`. A key given both ways is
/// a duplicate field (`ValueError`).
pub struct RequestAccess<'py> {
    request: Option<Bound<'py, PyDict>>,
    keywords: Vec<Item<'py>>,
}

impl<'py> RequestAccess<'py> {
    /// Reads `request` (a mapping, or `None`) and `keywords`.
    pub fn new(
        request: Option<&Bound<'py, PyAny>>,
        keywords: &Keywords<'_, 'py>,
    ) -> Result<Self, DeError> {
        let request = match request.filter(|r| !r.is_none()) {
            None => None,
            Some(request) => match request.cast::<PyDict>() {
                Ok(dict) => Some(dict.clone()),
                Err(_) if is_mapping(request)? => {
                    let dict = PyDict::new(request.py());
                    dict.call_method1("update", (request,))?;
                    Some(dict)
                }
                Err(_) => {
                    return Err(DeError::type_error(format!(
                        "must be a dict (the request JSON), not {}",
                        type_name(request)
                    )))
                }
            },
        };
        let mut items = Vec::new();
        for (name, value) in keywords.given() {
            let py = value.py();
            let key = PyString::intern(py, name).into_any();
            if name == "source" && value.cast::<PyString>().is_ok() {
                let source = PyDict::new(py);
                source.set_item("principal", value)?;
                items.push((key, source.into_any()));
            } else {
                items.push((key, value.clone()));
            }
        }
        Ok(RequestAccess {
            request,
            keywords: items,
        })
    }
}

impl<'de> Deserializer<'de> for RequestAccess<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let from_dict = self.request.iter().flat_map(|dict| dict.iter());
        visitor.visit_map(DictAccess {
            items: from_dict.chain(self.keywords),
            current: None,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct
        map struct enum identifier ignored_any
    }
}
