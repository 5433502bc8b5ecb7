//! The proxy-wasm ABI 0.2.1, the part this filter speaks: the callbacks Envoy calls (the
//! module's exports) and the host calls the filter makes (its imports from `env`).
//!
//! Why not the proxy-wasm SDK: it exports every callback of the ABI (response headers,
//! bodies, trailers, log, done, ...), and Envoy calls each exported callback on every
//! request (proxy-wasm-cpp-host `src/context.cc`: `ContextBase::onResponseHeaders` and the
//! others return at once only when the module does not export the callback). Each such
//! call into the VM costs about a thousand instructions; this filter reads the request
//! headers and nothing else, so the SDK's module paid about 7 200 instructions per request
//! (of ~51 000) for callbacks that do nothing (measured with callgrind,
//! `examples/envoy-wasm/bench/overhead.py`). Exported here: `proxy_abi_version_0_2_1`,
//! `proxy_on_memory_allocate`, `proxy_on_vm_start`, `proxy_on_configure`,
//! `proxy_on_context_create`, `proxy_on_request_headers`, `proxy_on_delete`.
//!
//! Wire formats (ABI 0.2.1): a property path is its parts joined by NUL; a header map is a
//! `u32` pair count, the `u32` name and value lengths of each pair, then each name and
//! value followed by a NUL, integers little-endian ([`HeaderMap::serialize`]). Buffers the
//! host returns were allocated by `proxy_on_memory_allocate` and belong to the module.
#![allow(unsafe_code)]

use std::cell::RefCell;
use std::collections::HashMap;

use crate::headers::HeaderMap;
use crate::{Flow, Host, HostStatus, LogLevel, Root};

/// `WasmResult::Ok`.
const OK: u32 = 0;
/// `WasmResult::NotFound`.
const NOT_FOUND: u32 = 1;
/// `WasmHeaderMapType::RequestHeaders`.
const REQUEST_HEADERS: u32 = 0;
/// `WasmBufferType::PluginConfiguration`.
const PLUGIN_CONFIGURATION: u32 = 7;

#[link(wasm_import_module = "env")]
extern "C" {
    fn proxy_log(level: u32, message: *const u8, size: usize) -> u32;
    fn proxy_get_buffer_bytes(
        buffer_type: u32,
        start: usize,
        max_size: usize,
        data: *mut *mut u8,
        size: *mut usize,
    ) -> u32;
    fn proxy_get_property(
        path: *const u8,
        path_size: usize,
        data: *mut *mut u8,
        size: *mut usize,
    ) -> u32;
    fn proxy_get_header_map_pairs(map_type: u32, data: *mut *mut u8, size: *mut usize) -> u32;
    fn proxy_add_header_map_value(
        map_type: u32,
        name: *const u8,
        name_size: usize,
        value: *const u8,
        value_size: usize,
    ) -> u32;
    fn proxy_replace_header_map_value(
        map_type: u32,
        name: *const u8,
        name_size: usize,
        value: *const u8,
        value_size: usize,
    ) -> u32;
    fn proxy_remove_header_map_value(map_type: u32, name: *const u8, name_size: usize) -> u32;
    #[allow(clippy::too_many_arguments)]
    fn proxy_send_local_response(
        status: u32,
        details: *const u8,
        details_size: usize,
        body: *const u8,
        body_size: usize,
        headers: *const u8,
        headers_size: usize,
        grpc_status: i32,
    ) -> u32;
}

/// The contexts Envoy created in this VM: roots (one per plugin sharing the VM; an update
/// of the filter's configuration adds one while the old one's requests finish) and each
/// live request's root.
#[derive(Default)]
struct Contexts {
    roots: HashMap<u32, Root>,
    streams: HashMap<u32, u32>,
}

thread_local! {
    // A Wasm VM is single-threaded and Envoy does not re-enter it from a host call, so
    // the borrows below never overlap; they are still released before any host call.
    static CONTEXTS: RefCell<Contexts> = RefCell::new(Contexts::default());
}

/// The ABI version this module speaks.
#[no_mangle]
pub extern "C" fn proxy_abi_version_0_2_1() {}

/// Memory for a buffer the host hands to the module: a `Box<[u8]>` of exactly `size`
/// bytes, leaked; the module takes it back with `Vec::from_raw_parts(data, size, size)`.
#[no_mangle]
pub extern "C" fn proxy_on_memory_allocate(size: usize) -> *mut u8 {
    let buffer = vec![0u8; size].into_boxed_slice();
    Box::into_raw(buffer).cast::<u8>()
}

/// A root context (`parent == 0`) or a request's context under its root.
#[no_mangle]
pub extern "C" fn proxy_on_context_create(context: u32, parent: u32) {
    CONTEXTS.with(|contexts| {
        let mut contexts = contexts.borrow_mut();
        if parent == 0 {
            contexts.roots.insert(context, Root::default());
        } else {
            contexts.streams.insert(context, parent);
        }
    });
}

/// Nothing to do when the VM starts: the policies come with the plugin configuration.
#[no_mangle]
pub extern "C" fn proxy_on_vm_start(_root: u32, _vm_configuration_size: usize) -> u32 {
    1
}

/// Compiles the plugin configuration of `root`; 0 makes Envoy refuse the plugin.
#[no_mangle]
pub extern "C" fn proxy_on_configure(root: u32, _configuration_size: usize) -> u32 {
    // Configured outside the borrow: the configuration is read through host calls.
    let mut configured = Root::default();
    let accepted = configured.configure(&Envoy);
    CONTEXTS.with(|contexts| {
        contexts.borrow_mut().roots.insert(root, configured);
    });
    u32::from(accepted)
}

/// Decides the request of `context` with its root's policies.
#[no_mangle]
pub extern "C" fn proxy_on_request_headers(
    context: u32,
    _headers: usize,
    _end_of_stream: u32,
) -> u32 {
    let settings = CONTEXTS.with(|contexts| {
        let contexts = contexts.borrow();
        let root = contexts.streams.get(&context)?;
        contexts.roots.get(root)?.settings()
    });
    crate::on_request_headers(settings.as_deref(), &Envoy) as u32
}

/// Forgets a finished request (or a removed root).
#[no_mangle]
pub extern "C" fn proxy_on_delete(context: u32) {
    CONTEXTS.with(|contexts| {
        let mut contexts = contexts.borrow_mut();
        if contexts.streams.remove(&context).is_none() {
            contexts.roots.remove(&context);
        }
    });
}

/// Envoy, through the ABI's host calls.
struct Envoy;

/// A buffer the host returned: `Ok(None)` for no value.
fn returned(status: u32, data: *mut u8, size: usize) -> Result<Option<Vec<u8>>, HostStatus> {
    match status {
        OK if data.is_null() => Ok(None),
        // SAFETY: on success the host obtained `data` from `proxy_on_memory_allocate` (a
        // leaked `Box<[u8]>` of exactly `size` bytes) and filled it; it keeps no reference,
        // so the buffer is ours to own and free.
        OK => Ok(Some(unsafe { Vec::from_raw_parts(data, size, size) })),
        NOT_FOUND => Ok(None),
        other => Err(HostStatus(other)),
    }
}

fn done(status: u32) -> Result<(), HostStatus> {
    match status {
        OK => Ok(()),
        other => Err(HostStatus(other)),
    }
}

impl Host for Envoy {
    fn plugin_configuration(&self) -> Vec<u8> {
        let (mut data, mut size) = (std::ptr::null_mut(), 0usize);
        // SAFETY: the two out-parameters point to live locals; the host writes a pointer
        // and a length into them and keeps neither.
        let status = unsafe {
            proxy_get_buffer_bytes(PLUGIN_CONFIGURATION, 0, usize::MAX, &mut data, &mut size)
        };
        returned(status, data, size)
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    fn property(&self, path: &[&str]) -> Result<Option<Vec<u8>>, HostStatus> {
        let serialized = path.join("\0");
        let (mut data, mut size) = (std::ptr::null_mut(), 0usize);
        // SAFETY: `serialized` outlives the call; the out-parameters as above.
        let status = unsafe {
            proxy_get_property(serialized.as_ptr(), serialized.len(), &mut data, &mut size)
        };
        returned(status, data, size)
    }

    fn request_headers(&self) -> Result<HeaderMap, HostStatus> {
        let (mut data, mut size) = (std::ptr::null_mut(), 0usize);
        // SAFETY: the out-parameters as above.
        let status = unsafe { proxy_get_header_map_pairs(REQUEST_HEADERS, &mut data, &mut size) };
        Ok(HeaderMap::from_serialized(
            returned(status, data, size)?.unwrap_or_default(),
        ))
    }

    fn send_local_response(
        &self,
        status: u32,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(), HostStatus> {
        let map = HeaderMap::serialize(headers.iter().copied());
        // SAFETY: every pointer is to a live buffer of the given length for the call's
        // duration; the host copies what it keeps. -1: not a gRPC reply.
        done(unsafe {
            proxy_send_local_response(
                status,
                std::ptr::null(),
                0,
                body.as_ptr(),
                body.len(),
                map.as_ptr(),
                map.len(),
                -1,
            )
        })
    }

    fn add_request_header(&self, name: &str, value: &str) -> Result<(), HostStatus> {
        // SAFETY: both strings outlive the call; the host copies them.
        done(unsafe {
            proxy_add_header_map_value(
                REQUEST_HEADERS,
                name.as_ptr(),
                name.len(),
                value.as_ptr(),
                value.len(),
            )
        })
    }

    fn replace_request_header(&self, name: &str, value: &str) -> Result<(), HostStatus> {
        // SAFETY: as above.
        done(unsafe {
            proxy_replace_header_map_value(
                REQUEST_HEADERS,
                name.as_ptr(),
                name.len(),
                value.as_ptr(),
                value.len(),
            )
        })
    }

    fn remove_request_header(&self, name: &str) -> Result<(), HostStatus> {
        // SAFETY: as above.
        done(unsafe { proxy_remove_header_map_value(REQUEST_HEADERS, name.as_ptr(), name.len()) })
    }

    fn log(&self, level: LogLevel, message: &str) {
        // SAFETY: as above. A failed log call leaves nothing useful to do.
        let _ = unsafe { proxy_log(level as u32, message.as_ptr(), message.len()) };
    }
}

/// `Flow` is what `proxy_on_request_headers` returns (`Action` in the ABI).
const _: () = assert!(Flow::Continue as u32 == 0 && Flow::Pause as u32 == 1);
