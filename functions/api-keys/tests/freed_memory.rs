//! The attack on a stored key's plaintext after the request: reading memory the program has
//! freed. This test binary's allocator looks inside every block as it is freed and remembers
//! whether it still held the plaintext key. The store path (body buffer, chunks, decoding,
//! shape check, sealing) must free nothing that holds it; the naive path (a growing `Vec`,
//! serde decoding into a `String`) does, which shows the check can see the leak.
//!
//! Native only: it replaces the global allocator of this test binary.
#![cfg(not(target_arch = "wasm32"))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use api_keys::catalogue::Catalogue;
use api_keys::records::NewKeyRow;
use api_keys::secret_body::{key_from_body, SecretBuffer, MAX_STORE_BODY_BYTES};
use api_keys::vault::{seal, KeyRing, KeyVersion, MasterKey, RecordBinding, SystemRandom};
use zeroize::Zeroizing;

/// The key the client stores. It lives in the binary's read-only data, never on the heap,
/// so any heap copy of it was made by the code under test.
const KEY: &str = "sk-proj-FREEDxMEMORYxCANARYx7Kq2Vw9ZpL4tRb8Nc3Hy";

struct Inspecting;

static WATCHING: AtomicBool = AtomicBool::new(false);
static FOUND: AtomicBool = AtomicBool::new(false);
/// One scenario at a time: the flags are global.
static SCENARIO: Mutex<()> = Mutex::new(());

unsafe impl GlobalAlloc for Inspecting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if WATCHING.load(Ordering::SeqCst) {
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            if block
                .windows(KEY.len())
                .any(|window| window == KEY.as_bytes())
            {
                FOUND.store(true, Ordering::SeqCst);
            }
        }
        unsafe { System.dealloc(ptr, layout) }
    }
    // No `realloc`: the default moves a block through `alloc` and `dealloc`, so a buffer
    // that grows is inspected when its old allocation is freed.
}

#[global_allocator]
static ALLOCATOR: Inspecting = Inspecting;

/// Runs `scenario` and says whether any block freed meanwhile still held the key.
fn key_left_in_freed_memory(scenario: impl FnOnce()) -> bool {
    let _one_at_a_time = SCENARIO
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    FOUND.store(false, Ordering::SeqCst);
    WATCHING.store(true, Ordering::SeqCst);
    scenario();
    WATCHING.store(false, Ordering::SeqCst);
    FOUND.load(Ordering::SeqCst)
}

/// The request body as the client sends it, built in wiped memory so the test itself leaves
/// no copy; `escape_every_letter` writes each letter of the key as a `\uXXXX` escape, the
/// case where a JSON decoder copies the key into a scratch buffer.
fn request_body(escape_every_letter: bool) -> Zeroizing<Vec<u8>> {
    let mut body = Zeroizing::new(Vec::with_capacity(MAX_STORE_BODY_BYTES));
    body.extend_from_slice(b"{\"key\": \"");
    for byte in KEY.bytes() {
        if escape_every_letter && byte.is_ascii_alphabetic() {
            body.extend_from_slice(format!("\\u{byte:04x}").as_bytes());
        } else {
            body.push(byte);
        }
    }
    body.extend_from_slice(b"\"}");
    body
}

/// What `PUT /api-keys/openai` does with the body, minus the network: the body arrives in
/// three chunks, is collected, decoded, shape-checked, sealed and turned into the row.
fn store_path(body: &[u8]) {
    let ring =
        KeyRing::from_keys(vec![MasterKey::new(KeyVersion::new(1).unwrap(), [7; 32])]).unwrap();
    let catalogue = Catalogue::default();
    let mut buffer = SecretBuffer::with_capacity(MAX_STORE_BODY_BYTES);
    let third = body.len() / 3;
    for part in [&body[..third], &body[third..2 * third], &body[2 * third..]] {
        let chunk = Zeroizing::new(part.to_vec());
        buffer.push(&chunk).unwrap();
    }
    let key = key_from_body(buffer.as_bytes()).unwrap();
    assert_eq!(key.as_str(), KEY);
    let spec = catalogue.service("openai").unwrap();
    let validated = spec.shape.validate(&key).unwrap();
    let binding = RecordBinding {
        user_id: "a11ce000-0000-4000-8000-000000000001",
        service: "openai",
    };
    let sealed = seal(&ring, &binding, validated.as_str(), &mut SystemRandom).unwrap();
    let row = serde_json::to_string(&NewKeyRow::new(&binding, &sealed, validated.hint())).unwrap();
    assert!(!row.contains(KEY));
}

#[test]
fn the_store_path_frees_no_memory_holding_the_key() {
    for escaped in [false, true] {
        let body = request_body(escaped);
        assert!(
            !key_left_in_freed_memory(|| store_path(&body)),
            "escaped: {escaped}"
        );
    }
}

#[test]
fn the_naive_path_does_leave_the_key_in_freed_memory_so_the_check_can_see_it() {
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct NaiveBody {
        key: String,
    }
    for escaped in [false, true] {
        let body = request_body(escaped);
        let leaked = key_left_in_freed_memory(|| {
            let mut collected = Vec::new();
            for chunk in body.chunks(7) {
                collected.extend_from_slice(chunk);
            }
            let parsed: NaiveBody = serde_json::from_slice(&collected).unwrap();
            // Even wiping the decoded key and nothing else leaves the body buffer and, for an
            // escaped key, the decoder's scratch buffer behind.
            drop(Zeroizing::new(parsed.key));
            drop(collected);
        });
        assert!(leaked, "escaped: {escaped}");
    }
}
