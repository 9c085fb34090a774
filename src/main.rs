use clap::Parser;
use jsna::cli::{Cli, Command};
use jsna::cmd;

fn main() {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Run {
            pipeline,
            out,
            restricted,
        } => cmd::run::run(pipeline, out.as_deref(), restricted.as_deref(), cli.quiet),
        Command::Validate { pipeline } => cmd::validate::run(pipeline, cli.quiet),
        Command::List { pipeline } => cmd::list::run(pipeline),
        Command::Calc(args) => cmd::calc::run(args, cli.quiet),
        Command::Verify { dir, pipeline } => cmd::verify::run(dir, pipeline.as_deref(), cli.quiet),
        Command::SampleData {
            out,
            areas,
            records,
            periods,
            seed,
        } => {
            let opts = jsna::sample::Options {
                areas: *areas,
                records: *records,
                periods: *periods,
                seed: *seed,
            };
            cmd::sample::run(out, opts, cli.quiet)
        }
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(e.exit_code());
        }
    }
}
