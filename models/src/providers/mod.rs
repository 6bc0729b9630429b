//! Infrastructure providers, one module each. A provider brings:
//! - the reconciles of its infrastructure controllers (cluster and machine), pure
//!   functions from the cached objects to a [`crate::recipe::Plan`];
//! - the external work each reconcile does ([`crate::recipe::PcWork`]) spelled out as
//!   calls and tasks.
//!
//! To add one: a module here, and its arms in [`crate::controllers::reconcile`], which
//! dispatches each controller's reconcile; docs/model.md ("Adding an infrastructure
//! provider") lists the other places that name CAPX today.

pub mod capx;
pub mod in_memory;
