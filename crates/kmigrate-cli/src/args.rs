//! The command line, as clap types. No logic here: `commands/` acts on these.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Exit codes:
  0   success (valid plan, migration done)
  1   failure (invalid plan, failed step, apply refused)
  2   changes present (plan --detailed-exitcode)
  3   paused at a gate or a wait timed out: run apply again to continue
  64  usage error
  70  internal error

Docs: README.md and ARCHITECTURE.md in the kmigrate repository.";

/// Move Kafka producers and consumers to a new cluster from a reviewed, resumable plan.
///
/// A plan is a YAML file naming the source and target clusters, the topics, the producer
/// cutover, whether old data is copied, and each consumer group's offset strategy. kmigrate
/// validates it, shows what it would change, and applies it step by step with checkpoints.
#[derive(Debug, Parser)]
#[command(name = "kmigrate", version, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    #[command(flatten)]
    pub global: GlobalArgs,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Output format: human-readable text, or JSON for scripts.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Text, global = true)]
    pub output: OutputFormat,

    /// More log output on stderr (-v: debug, -vv: trace). RUST_LOG overrides it.
    #[arg(long, short = 'v', action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// When to use colors.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check plans for errors without contacting any cluster.
    ///
    /// Reports every problem at once, each with the file, line and column, the YAML snippet
    /// and how to fix it. Warnings do not fail validation.
    Validate(ValidateArgs),

    /// Execute the plan against both clusters, checkpointing after every step.
    ///
    /// A re-run resumes where the last one stopped and never repeats a completed step. apply
    /// pauses (exit code 3) at a `cutover: manual` gate and when a wait times out.
    Apply(ApplyArgs),

    /// Show where a migration stands: every step's state, outputs and errors.
    Status(StatusArgs),

    /// Print the plan's step DAG (Graphviz DOT or Mermaid).
    ///
    /// Example: kmigrate graph plans/orders.yaml | dot -Tsvg > orders.svg
    Graph(GraphArgs),
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The plan files to check.
    #[arg(required = true, value_name = "PLAN")]
    pub plans: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct StateArgs {
    /// Directory of the state file and lock [default: .kmigrate/ beside the plan].
    #[arg(long, value_name = "DIR", env = "KMIGRATE_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The plan file.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,

    #[command(flatten)]
    pub state: StateArgs,

    /// Open a gate: `--approve cutover` records the producer cutover of a `cutover: manual` plan.
    #[arg(long, value_name = "GATE", value_enum)]
    pub approve: Vec<Gate>,

    /// With `--approve cutover`: the cutover time to record (RFC 3339 with a UTC offset),
    /// instead of the newest record timestamp on the source.
    #[arg(long, value_name = "TIME", requires = "approve")]
    pub cutover_at: Option<String>,

    /// Stop waiting (for a drain, an idle source, a cutover time) after this long and exit with
    /// the paused code (3); the next run continues the wait. Example: 10m. [default: wait]
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub wait_timeout: Option<std::time::Duration>,

    /// Accept a plan that changed under steps already done: those steps run again.
    #[arg(long)]
    pub replan: bool,

    /// How many steps may run at once.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub concurrency: usize,

    /// How long to try to reach a cluster before failing.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    pub connect_timeout: std::time::Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Gate {
    /// The producers have been switched to the target cluster.
    Cutover,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The plan file.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,

    #[command(flatten)]
    pub state: StateArgs,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// The plan file.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,

    /// The graph language to print.
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    pub format: GraphFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Graphviz DOT (render with `dot -Tsvg`).
    Dot,
    /// A Mermaid flowchart (renders in GitHub/GitLab Markdown).
    Mermaid,
}
