//! Ctrl-C as a request: the first press sets a flag that the training loop checks after each step, so it
//! saves a checkpoint before exiting; a second press exits at once.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

static REQUESTED: AtomicBool = AtomicBool::new(false);
static INSTALLED: OnceLock<bool> = OnceLock::new();

/// Installs the handler (once per process; later calls do nothing). Returns false when it could not be
/// installed (Ctrl-C then kills the process as usual).
pub fn install() -> bool {
    *INSTALLED.get_or_init(|| {
        ctrlc::set_handler(|| {
            if REQUESTED.swap(true, Ordering::SeqCst) {
                eprintln!("\nsecond interrupt: exiting without saving");
                std::process::exit(130);
            }
            eprintln!("\ninterrupt: saving a checkpoint after this step (press Ctrl-C again to exit now)");
        })
        .is_ok()
    })
}

/// True once Ctrl-C has been pressed.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}
