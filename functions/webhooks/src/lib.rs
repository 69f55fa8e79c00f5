//! Intake of webhook deliveries from Stripe and from Resend (which signs with Svix, the
//! Standard Webhooks scheme).
//!
//! The pure part, tested natively and on wasm32, checks a delivery's signature over the raw
//! body byte for byte ([`stripe`], [`svix`]) and only then reads the small envelope every
//! event shares ([`envelope`]): its id, type and creation time. Time is always an argument,
//! never read from a clock here, because `SystemTime::now()` panics on Workers.
//!
//! It is not where events take effect: applying an event (subscriptions, invoices, email
//! status) happens in one SQL transaction behind the `receive_webhook_event` RPC, and it does
//! not talk to providers' APIs.

pub mod envelope;
pub mod error;
pub mod stripe;
pub mod svix;
mod tolerance;
