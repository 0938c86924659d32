//! Nothing here: the derives' compile-fail cases are `tests/ui/*.rs`, run by
//! `tests/ui.rs`. They live in a crate of their own because trybuild compiles the
//! dev-dependencies of the crate it runs in again, in its own target directory: the
//! facade has many, this crate two. (Not a proc-macro crate either: a proc-macro
//! crate's dev-dependencies are compiled for the host apart from everything else.)
