use clap::Parser;
use jsna::cli::{Cli, Command};
use jsna::cmd;
use jsna::log::Log;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let log = Log::new(cli.log_format, cli.quiet);
    let result = match &cli.command {
        Command::Run {
            pipeline,
            out,
            restricted,
        } => {
            jsna::publish::remove_staging_on_signal();
            cmd::run::run(pipeline, out.as_deref(), restricted.as_deref(), &log)
        }
        Command::Validate { pipeline } => cmd::validate::run(pipeline, &log),
        Command::List { pipeline } => cmd::list::run(pipeline),
        Command::Template { dir } => cmd::template::run(dir, &log),
        Command::Calc(args) => cmd::calc::run(args, &log),
        Command::Verify { dir, pipeline } => cmd::verify::run(dir, pipeline.as_deref(), &log),
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
            cmd::sample::run(out, opts, &log)
        }
    };
    // Returned, not `process::exit`: destructors run and buffered output is flushed.
    let code = match result {
        Ok(code) => code,
        Err(e) => {
            log.fatal(&e.to_string(), e.exit_code());
            e.exit_code()
        }
    };
    std::process::ExitCode::from(u8::try_from(code).unwrap_or(1))
}
