//! `rlhf demo`: the engine at work on its embedded default.
use clap::Args;

#[derive(Args, Default)]
pub struct DemoArgs {}

pub fn run(_args: &DemoArgs) -> Result<(), Box<dyn std::error::Error>> {
    println!("rlhf: the engine is being built; see README.md");
    Ok(())
}
