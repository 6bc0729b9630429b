//! `capsim recommend`: the cheapest configuration that passes the checklist and the
//! user's targets, searched over the knobs an operator can change before a purchase.

pub mod search;
